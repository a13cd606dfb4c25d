/**
 * The objects install-agent applies, from one source: deploy/base, rendered by kustomize through an
 * overlay written from typed options (namespace, image, the agent's flags, resources, labels), so that
 * `kubectl apply -k deploy/` and install-agent can never drift. The Secrets are built in memory
 * (secrets.ts) and never written to the overlay folder or to `output-dir`.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigurationError } from '../errors.js'
import { transportOf } from '../git/remote.js'
import { installLabels } from '../kube/labels.js'
import {
  kustomizeBuild,
  parseImageOverride,
  resolveKustomize,
  type BuildOptions,
  type Kustomize,
} from '../kustomize/kustomize.js'
import type { Logger } from '../log.js'
import { serializeManifests, writeManifestFolder } from '../manifests/folder.js'
import { validateManifests } from '../manifests/objects.js'
import { parseManifestText, toYaml, type KubeObject } from '../manifests/yaml.js'
import {
  agentSecrets,
  NOTIFY_SECRET,
  STATUS_TOKEN_SECRET,
  withoutSecretData,
  type AgentSecretValues,
  type MountedSecret,
} from './secrets.js'

export const DEFAULT_NAMESPACE = 'gitops-system'
/** The agent's Deployment and container in deploy/base. */
export const AGENT_DEPLOYMENT = 'gitops-agent'
const AGENT_CONTAINER = 'agent'

/** CPU and memory of the agent's container; what is unset keeps deploy/base's value. */
export interface ResourceSettings {
  requests?: { cpu?: string; memory?: string }
  limits?: { cpu?: string; memory?: string }
}

/** What an install sets on deploy/base. */
export interface AgentManifestOptions {
  /** The agent image: `registry/name:tag` or `registry/name@sha256:…`. */
  image: string
  /** The agent's namespace (default gitops-system): the base's Namespace is renamed to it. */
  namespace?: string
  /** `--git-url`: the gitops repo, an SSH URL (the agent reads it with the deploy key). */
  repository: string
  /** `--git-branch` (default: the remote's default branch). */
  branch?: string
  /** `--git-path`, once each (default: the repo root). */
  paths?: string[]
  /** `--git-poll-interval`, e.g. `1m`. */
  pollInterval?: string
  /** `--sync-interval`, e.g. `5m`. */
  syncInterval?: string
  /** `--sync-garbage-collection`. */
  prune?: boolean
  /** `--cluster-name`. */
  clusterName?: string
  /** `--manifest-generation`. */
  manifestGeneration?: boolean
  /** `--notify=file:…`: the Secret of webhook URLs is mounted. */
  notify?: boolean
  /** `--status-token=file:…`: the Secret of the status token is mounted. */
  statusToken?: boolean
  /** `--status-provider` (github or gitlab; default: from the repository's host). */
  statusProvider?: 'github' | 'gitlab'
  /** `--status-api-url` (GitHub Enterprise, a GitLab instance). */
  statusApiUrl?: string
  resources?: ResourceSettings
}

/** How to render: which kustomize, and where deploy/base is (tests); both have defaults. */
export interface RenderContext {
  log: Logger
  /** Default: `resolveKustomize()` (GITOPS_KUSTOMIZE, kustomize or kubectl on PATH). */
  kustomize?: Kustomize
  /** Default: `deployBaseDir()`. */
  baseDir?: string
}

/** The agent flags an install sets: the base's values of these are replaced, its others kept. */
const OWNED_FLAGS = [
  'git-url',
  'git-branch',
  'git-path',
  'git-poll-interval',
  'sync-interval',
  'sync-garbage-collection',
  'cluster-name',
  'manifest-generation',
  'notify',
  'status-token',
  'status-provider',
  'status-api-url',
]

/**
 * deploy/base of this product: in the source tree (`src/lib/install/` → `../../../deploy/base`), beside
 * a bundle (`dist/<name>/index.js` → `../../deploy/base`), or one level up from it (a bundle copied to
 * `<dir>/<name>/index.js` with `<dir>/deploy/`, as in the image). Only those three places are looked at:
 * anything higher would be the user's own tree.
 */
export function deployBaseDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const tried: string[] = []
  let dir = here
  for (let up = 1; up <= 3; up++) {
    dir = dirname(dir)
    const candidate = join(dir, 'deploy', 'base')
    if (existsSync(join(candidate, 'kustomization.yaml'))) return candidate
    tried.push(candidate)
  }
  throw new Error(
    `install: deploy/base (the agent's manifests) is missing: looked in ${tried.join(', ')}; it ships beside dist/ in this product's repository: run from a full copy of it (the action's checkout, or an image that copies deploy/ beside the bundles)`,
  )
}

const DURATION = /^\d+(?:\.\d+)?(?:ms|s|m|h)?$/
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const CLUSTER_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const QUANTITY = /^\d+(?:\.\d+)?(?:m|k|Ki|M|Mi|G|Gi|T|Ti)?$/
const PLAIN = /^[^\s,]+$/

/** Checks the options (errors name the install's inputs); the namespace, defaulted. */
function checkOptions(options: AgentManifestOptions): string {
  const fail = (message: string): never => {
    throw new ConfigurationError(message)
  }
  const namespace = options.namespace ?? DEFAULT_NAMESPACE
  if (!DNS_LABEL.test(namespace)) fail(`namespace: '${namespace}' is not a namespace name`)
  try {
    parseImageOverride(`gitops-agent=${options.image}`)
  } catch {
    fail(
      `image: '${options.image}' is not an image reference (registry/name:tag or registry/name@sha256:<digest>)`,
    )
  }
  if (transportOf(options.repository) !== 'ssh' || /\s/.test(options.repository)) {
    fail(
      `repository: '${options.repository}' is not an SSH URL (git@host:org/repo.git or ssh://git@host/org/repo.git): the agent reads the repository with the deploy key`,
    )
  }
  if (options.branch !== undefined && !/^[^\s~^:?*[\\]+$/.test(options.branch))
    fail(`branch: '${options.branch}' is not a branch name`)
  for (const path of options.paths ?? [])
    if (!PLAIN.test(path)) fail(`paths: '${path}' is not a folder of the repository`)
  for (const [input, value] of [
    ['poll-interval', options.pollInterval],
    ['sync-interval', options.syncInterval],
  ] as const) {
    if (value !== undefined && !DURATION.test(value))
      fail(`${input}: '${value}' is not a duration (e.g. 30s, 5m, 1h)`)
  }
  if (options.clusterName !== undefined && !CLUSTER_NAME.test(options.clusterName))
    fail(`cluster-name: must be letters, digits, '-', '_' or '.'`)
  if (options.statusApiUrl !== undefined && !/^https?:\/\/\S+$/.test(options.statusApiUrl))
    fail(`status-api-url: '${options.statusApiUrl}' is not an http(s) URL`)
  const resources = options.resources ?? {}
  for (const kind of ['requests', 'limits'] as const) {
    for (const [name, value] of Object.entries(resources[kind] ?? {}))
      if (value !== undefined && !QUANTITY.test(value))
        fail(`resources: ${kind}.${name} '${value}' is not a quantity (e.g. 100m, 256Mi)`)
  }
  return namespace
}

/** The agent's flags from the options, after the base's own flags the install does not set. */
function agentArgs(options: AgentManifestOptions, baseArgs: string[]): string[] {
  const owned = (arg: string) =>
    OWNED_FLAGS.some((f) => arg === `--${f}` || arg.startsWith(`--${f}=`))
  const fileFlag = (m: MountedSecret) => `--${m.flag}=file:${m.mountPath}/${m.key}`
  const args = [`--git-url=${options.repository}`]
  if (options.branch) args.push(`--git-branch=${options.branch}`)
  for (const path of options.paths ?? []) args.push(`--git-path=${path}`)
  if (options.pollInterval) args.push(`--git-poll-interval=${options.pollInterval}`)
  if (options.syncInterval) args.push(`--sync-interval=${options.syncInterval}`)
  if (options.prune) args.push('--sync-garbage-collection')
  if (options.manifestGeneration) args.push('--manifest-generation')
  if (options.clusterName) args.push(`--cluster-name=${options.clusterName}`)
  if (options.notify) args.push(fileFlag(NOTIFY_SECRET))
  if (options.statusToken) args.push(fileFlag(STATUS_TOKEN_SECRET))
  if (options.statusProvider) args.push(`--status-provider=${options.statusProvider}`)
  if (options.statusApiUrl) args.push(`--status-api-url=${options.statusApiUrl}`)
  return [...args, ...baseArgs.filter((a) => !owned(a))]
}

interface Container {
  name: string
  image?: string
  args?: string[]
}

/** The agent's container in rendered objects (an error naming deploy/base when it is not there). */
function agentContainer(objects: KubeObject[], baseDir: string): Container {
  const deployment = objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.name === AGENT_DEPLOYMENT,
  )
  const spec = deployment?.spec as { template?: { spec?: { containers?: Container[] } } }
  const container = spec?.template?.spec?.containers?.find((c) => c.name === AGENT_CONTAINER)
  if (!container?.image)
    throw new Error(
      `install: ${baseDir} has no Deployment ${AGENT_DEPLOYMENT} with a container ${AGENT_CONTAINER}`,
    )
  return container
}

/** The overlay on deploy/base: the namespace, image, labels and a patch of the agent's container. */
function overlayOf(
  options: AgentManifestOptions,
  namespace: string,
  base: { image: string; args: string[] },
): BuildOptions {
  // The base's image name, without its tag or digest: what kustomize's `images:` matches.
  const imageName = base.image.replace(/@.*$/, '').replace(/:[^/:]*$/, '')
  const mounts = [
    ...(options.notify ? [NOTIFY_SECRET] : []),
    ...(options.statusToken ? [STATUS_TOKEN_SECRET] : []),
  ]
  const container: Record<string, unknown> = {
    name: AGENT_CONTAINER,
    // A strategic merge patch replaces `args` as a whole; volumes and mounts merge by name.
    args: agentArgs(options, base.args),
  }
  if (options.resources) container.resources = options.resources
  if (mounts.length > 0)
    container.volumeMounts = mounts.map((m) => ({
      name: m.volume,
      mountPath: m.mountPath,
      readOnly: true,
    }))
  const podSpec: Record<string, unknown> = { containers: [container] }
  if (mounts.length > 0)
    podSpec.volumes = mounts.map((m) => ({
      name: m.volume,
      // 0440 and the pod's fsGroup, as the base mounts the deploy key.
      secret: { secretName: m.secretName, defaultMode: 0o440 },
    }))
  const patch = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: AGENT_DEPLOYMENT },
    spec: { template: { spec: podSpec } },
  }
  return {
    // Renames the base's Namespace and moves every namespaced object and the RBAC subjects into it.
    namespace,
    images: [{ ...parseImageOverride(`${imageName}=${options.image}`), name: imageName }],
    // On objects only: pod templates and selectors stay as the base has them.
    labels: [{ pairs: installLabels(namespace), includeSelectors: false, includeTemplates: false }],
    patches: [{ patch: toYaml(patch), target: { kind: 'Deployment', name: AGENT_DEPLOYMENT } }],
  }
}

/** Parses and validates a build's output: no Secrets come from the base. */
function parseBuild(yaml: string, source: string): KubeObject[] {
  const docs = parseManifestText(yaml, source)
  return validateManifests(docs).map((m) => m.object)
}

/**
 * Cluster-scoped objects are shared by every install on the cluster: outside the default namespace
 * they get the namespace in their name (`gitops-agent-<namespace>`), so a second agent never takes over
 * the first one's ClusterRole and binding. The default keeps the base's names, as `kubectl apply -k`.
 */
function ownClusterNames(objects: KubeObject[], namespace: string): KubeObject[] {
  if (namespace === DEFAULT_NAMESPACE) return objects
  const renamed = (name: string) => `${name}-${namespace}`
  return objects.map((o) => {
    if (o.kind === 'ClusterRole')
      return { ...o, metadata: { ...o.metadata, name: renamed(o.metadata.name) } }
    if (o.kind !== 'ClusterRoleBinding') return o
    const roleRef = o.roleRef as { kind: string; name: string }
    return {
      ...o,
      metadata: { ...o.metadata, name: renamed(o.metadata.name) },
      roleRef:
        roleRef.kind === 'ClusterRole' ? { ...roleRef, name: renamed(roleRef.name) } : roleRef,
    }
  })
}

/**
 * deploy/base rendered for an install: every object in `namespace` (cluster-scoped ones labelled with
 * it), the flags and image in the agent's Deployment. No Secrets: see `agentObjects`.
 */
export async function renderAgentManifests(
  options: AgentManifestOptions,
  context: RenderContext,
): Promise<KubeObject[]> {
  const namespace = checkOptions(options)
  const kustomize = context.kustomize ?? resolveKustomize(undefined)
  const baseDir = context.baseDir ?? deployBaseDir()
  // The base as it is, for the image name and the flags the install leaves alone (e.g. --listen).
  const base = parseBuild(await kustomizeBuild(kustomize, baseDir, {}, context.log), baseDir)
  const container = agentContainer(base, baseDir)
  const overlay = overlayOf(options, namespace, {
    image: container.image!,
    args: container.args ?? [],
  })
  const objects = parseBuild(
    await kustomizeBuild(kustomize, baseDir, overlay, context.log),
    'the install overlay of deploy/base',
  )
  agentContainer(objects, baseDir)
  return ownClusterNames(objects, namespace)
}

/** Everything an install applies: the rendered base and its Secrets, all labelled as the install's. */
export async function agentObjects(
  options: Omit<AgentManifestOptions, 'notify' | 'statusToken'>,
  secrets: AgentSecretValues,
  context: RenderContext,
): Promise<KubeObject[]> {
  const rendered = await renderAgentManifests(
    {
      ...options,
      notify: secrets.notify !== undefined,
      statusToken: secrets.statusToken !== undefined,
    },
    context,
  )
  return [...rendered, ...agentSecrets(options.namespace ?? DEFAULT_NAMESPACE, secrets)]
}

/**
 * Writes the objects to `dir`, one file each (`<kind>-<name>.yaml`), Secrets without their values: the
 * private key never reaches a file. `dir` is replaced only if it holds nothing but manifests.
 */
export async function writeManifests(dir: string, objects: KubeObject[]): Promise<string[]> {
  const manifests = serializeManifests(objects.map(withoutSecretData))
  await writeManifestFolder(dir, manifests)
  return manifests.map((m) => m.file)
}
