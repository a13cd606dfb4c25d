/**
 * Kubernetes objects as this tool handles them: validation, identity, the stable order, the canonical
 * form and its digest.
 */
import { createHash } from 'node:crypto'
import { ConfigurationError } from '../errors.js'
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

// Kubernetes names: DNS subdomains, and a few kinds (RBAC) allow more; the check is loose on purpose
// and only keeps out what would break file names and API paths.
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.:@]{0,251}[A-Za-z0-9])?$/

/** `kind/namespace/name` (namespace empty for cluster-scoped or unset). */
export function objectKey(object: KubeObject): string {
  return `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`
}

/** `Kind/name` or `Kind/namespace/name`, for messages. */
export function describeObject(object: KubeObject): string {
  const ns = object.metadata.namespace
  return ns
    ? `${object.kind}/${ns}/${object.metadata.name}`
    : `${object.kind}/${object.metadata.name}`
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
    const { name, namespace } = object.metadata
    if (!NAME.test(name)) {
      problems.push(
        `${source}: ${object.kind} has an invalid metadata.name ${JSON.stringify(name)}`,
      )
      continue
    }
    if (namespace !== undefined && (typeof namespace !== 'string' || !NAME.test(namespace))) {
      problems.push(`${source}: ${object.kind}/${name} has an invalid metadata.namespace`)
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
