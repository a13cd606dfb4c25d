/**
 * Kubernetes objects as this tool handles them: validation, identity, the stable order, the canonical
 * form and its digest.
 */
import { createHash } from 'node:crypto'
import { ConfigurationError } from '../errors.js'
import { describeObject, objectKey } from './identity.js'
import type { KubeObject, LoadedDocument } from './yaml.js'

/** An object with the place it was read from. */
export interface Manifest {
  source: string
  object: KubeObject
}

export interface ValidateOptions {
  /** Accept plaintext `kind: Secret` objects (sealed or SOPS-encrypted kinds are always fine). */
  allowSecrets?: boolean
}

// What the Kubernetes API server takes, so a name never becomes a path (file names, API paths): kinds
// are words (a DNS-1035 label once lower-cased, as the API server checks a CRD's kind); apiVersion is
// `v1` or `<DNS subdomain group>/<version>`; names follow the generic path-segment rule (per-kind rules
// are the API server's, and `system:controller:x` is a valid RBAC name), and a backslash, which no
// built-in kind allows and which is a path separator on Windows, is refused too; namespaces are DNS labels.
const KIND = /^[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const VERSION = DNS_LABEL
const NAME_FORBIDDEN = /[/\\%\p{Cc}]/u

function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && value.split('.').every((label) => DNS_LABEL.test(label))
}

function isApiVersion(value: string): boolean {
  if (value === 'v1') return true
  const parts = value.split('/')
  return parts.length === 2 && isDnsSubdomain(parts[0]) && VERSION.test(parts[1])
}

function isName(value: string): boolean {
  return (
    value !== '' &&
    value.length <= 253 &&
    value !== '.' &&
    value !== '..' &&
    !NAME_FORBIDDEN.test(value)
  )
}

/** A value for a message: quoted, escaped, and cut short. */
function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
}

/**
 * Checks that every document is a well-formed Kubernetes object (apiVersion, kind, metadata.name), that
 * no two share kind/namespace/name, and that no plaintext Secret slips through unless allowed. Every
 * problem is collected and reported at once; a Secret's data never appears in a message.
 */
export function validateManifests(
  docs: LoadedDocument[],
  options: ValidateOptions = {},
): Manifest[] {
  const problems: string[] = []
  const seen = new Map<string, string>()
  const manifests: Manifest[] = []
  for (const { source, value } of docs) {
    const apiVersion = value.apiVersion
    const kind = value.kind
    const metadata = value.metadata as Record<string, unknown> | undefined
    const missing: string[] = []
    if (typeof apiVersion !== 'string' || apiVersion === '') missing.push('apiVersion')
    if (typeof kind !== 'string' || kind === '') missing.push('kind')
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      missing.push('metadata')
    } else if (typeof metadata.name !== 'string' || metadata.name === '') {
      missing.push('metadata.name')
    }
    if (missing.length > 0) {
      problems.push(`${source}: not a Kubernetes object: missing ${missing.join(', ')}`)
      continue
    }
    const object = value as KubeObject
    const problem = identityProblem(object)
    if (problem !== undefined) {
      problems.push(`${source}: ${problem}`)
      continue
    }
    if (isPlainSecret(object) && !options.allowSecrets) {
      problems.push(
        `${source}: ${describeObject(object)} is a plaintext Secret; keep secrets out of git ` +
          `(use SealedSecrets, SOPS or an external secret store) or set allow-secrets: true`,
      )
      continue
    }
    const key = objectKey(object)
    const first = seen.get(key)
    if (first !== undefined) {
      problems.push(`${source}: duplicate ${describeObject(object)} (also in ${first})`)
      continue
    }
    seen.set(key, source)
    manifests.push({ source, object })
  }
  if (problems.length > 0) {
    throw new ConfigurationError(
      `${problems.length} invalid manifest${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`,
    )
  }
  return manifests
}

/** What is wrong with an object's kind, apiVersion, name or namespace, naming the object; or nothing. */
function identityProblem(object: KubeObject): string | undefined {
  const { kind, apiVersion } = object
  const { name, namespace } = object.metadata
  if (!KIND.test(kind)) {
    return `object ${shown(name)} has an invalid kind ${shown(kind)} (a word of letters, digits and -, starting with a letter, at most 63)`
  }
  if (!isName(name)) {
    return `${kind} has an invalid metadata.name ${shown(name)} (at most 253 characters, not . or .., no /, \\, % or control characters)`
  }
  if (!isApiVersion(apiVersion)) {
    return `${kind}/${name} has an invalid apiVersion ${shown(apiVersion)} (v1 or <group>/<version>)`
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || !DNS_LABEL.test(namespace))) {
    return `${kind}/${name} has an invalid metadata.namespace (a DNS label: lower case, digits, -, at most 63)`
  }
  return undefined
}

function isPlainSecret(object: KubeObject): boolean {
  return object.kind === 'Secret' && object.apiVersion === 'v1'
}

// Apply order, after Flux's ssa/sort.go (itself after Helm's install order): what others depend on
// comes first. Unknown kinds (custom resources) go last.
const KIND_ORDER = [
  'CustomResourceDefinition',
  'Namespace',
  'ResourceQuota',
  'StorageClass',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'PriorityClass',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]
const KIND_RANK = new Map(KIND_ORDER.map((kind, i) => [kind, i]))

/** Sorts objects into the stable order: by kind rank, then kind, namespace, name, apiVersion. */
export function sortObjects<T extends { object: KubeObject }>(items: T[]): T[] {
  const rank = (o: KubeObject): number => KIND_RANK.get(o.kind) ?? KIND_ORDER.length
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  return [...items].sort(
    (x, y) =>
      rank(x.object) - rank(y.object) ||
      cmp(x.object.kind, y.object.kind) ||
      cmp(x.object.metadata.namespace ?? '', y.object.metadata.namespace ?? '') ||
      cmp(x.object.metadata.name, y.object.metadata.name) ||
      cmp(x.object.apiVersion, y.object.apiVersion),
  )
}

/** A copy with every mapping's keys sorted: the canonical JSON form. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      out[key] = sortKeys((value as Record<string, unknown>)[key])
    }
    return out
  }
  return value
}

/** sha256 of one object's canonical JSON. */
export function objectDigest(object: KubeObject): string {
  return createHash('sha256').update(canonicalJson(object)).digest('hex')
}

/**
 * sha256 of a set of objects: their canonical JSON in the stable order, one per line. Independent of
 * file names, key order, YAML style and machine, so the same objects always give the same digest.
 */
export function manifestsDigest(objects: KubeObject[]): string {
  const sorted = sortObjects(objects.map((object) => ({ object })))
  const hash = createHash('sha256')
  for (const { object } of sorted) hash.update(canonicalJson(object)).update('\n')
  return `sha256:${hash.digest('hex')}`
}
