/**
 * Applying an install: server-side apply through the project's client as `gitops-install`, the
 * Namespace first, then the agent's identity and rights (ServiceAccount, ClusterRole, bindings), then the
 * rest, one object at a time, stopping at the first failure: every step is idempotent, so a re-run
 * repairs what a failed one left. Then what an earlier install into the same namespace made and this one
 * no longer has is pruned, found by the install label; nothing without that label is ever touched.
 */
import { ConfigurationError } from '../errors.js'
import { comparable } from '../kube/apply.js'
import { KubeError, type KubeClient } from '../kube/client.js'
import { INSTALL_FIELD_MANAGER, INSTALL_LABEL, MANAGED_BY_LABEL } from '../kube/labels.js'
import type { Logger } from '../log.js'
import { describeRef, objectKey, refKey, refOf, type ObjectRef } from '../manifests/identity.js'
import type { KubeObject } from '../manifests/yaml.js'

export type InstallAction = 'created' | 'configured' | 'unchanged' | 'pruned'

/** What the install did to one object. */
export interface InstallChange {
  ref: ObjectRef
  action: InstallAction
}

/** An install that stopped: what to fix, and what it had done before (`changes`). */
export class InstallApplyError extends ConfigurationError {
  constructor(
    message: string,
    readonly changes: InstallChange[],
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'InstallApplyError'
  }
}

export interface InstallApplyOptions {
  /** The install's namespace: every object must carry the install label with it (see `installLabels`). */
  namespace: string
  /** Write nothing: the server's dry run says configured or unchanged, and what would be pruned. */
  dryRun?: boolean
  log: Logger
}

/** The apply order: the namespace, then who the agent is and what it may do, then the rest. */
const FIRST = [
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]
/** The pod starts last, once the Secrets it mounts and its rights are there. */
const LAST = ['Deployment']
const rank = (kind: string): number =>
  FIRST.includes(kind)
    ? FIRST.indexOf(kind)
    : LAST.includes(kind)
      ? FIRST.length + 1 + LAST.indexOf(kind)
      : FIRST.length

/** Objects in apply order (a stable sort: the same kinds keep the order given). */
function inApplyOrder<T extends { kind: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => rank(a.kind) - rank(b.kind))
}

/** Kinds an install has made, looked through for leftovers besides the kinds it applies now. */
const INSTALL_KINDS: [apiVersion: string, kind: string][] = [
  ['v1', 'ServiceAccount'],
  ['v1', 'Secret'],
  ['v1', 'ConfigMap'],
  ['v1', 'Service'],
  ['apps/v1', 'Deployment'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
]

/** Whether an object carries the labels of the install into `namespace`. */
export function isInstalledBy(object: KubeObject, namespace: string): boolean {
  const labels = (object.metadata.labels ?? {}) as Record<string, string>
  return labels[INSTALL_LABEL] === namespace && labels[MANAGED_BY_LABEL] === INSTALL_FIELD_MANAGER
}

/**
 * Applies the install's objects and prunes what an earlier install left; one change per object, in the
 * order done. Throws an `InstallApplyError` naming the object and what to fix at the first failure.
 */
export async function applyInstall(
  client: KubeClient,
  objects: KubeObject[],
  options: InstallApplyOptions,
): Promise<InstallChange[]> {
  const unlabelled = objects.filter((o) => !isInstalledBy(o, options.namespace))
  // An object without the label could never be pruned by a later install: a bug, not the user's.
  if (unlabelled.length > 0)
    throw new Error(
      `install: ${unlabelled.map((o) => describeRef(refOf(o))).join(', ')} lack the install's labels`,
    )
  const changes: InstallChange[] = []
  const dryRun = options.dryRun === true
  for (const object of inApplyOrder(objects)) {
    const ref = refOf(object)
    let action: InstallAction
    try {
      action = await applyOne(client, object, dryRun)
    } catch (error) {
      throw failure(client, error, 'apply', ref, changes)
    }
    changes.push({ ref, action })
    options.log.info(`${describeRef(ref)} ${action}${dryRun ? ' (dry run)' : ''}`)
  }
  const kept = new Set(objects.map(objectKey))
  for (const leftover of await leftovers(client, objects, options.namespace, changes)) {
    const ref = refOf(leftover)
    if (kept.has(refKey(ref))) continue
    try {
      // Bound to the object just listed: one made again since is not this one to delete.
      if (!dryRun) await client.delete(ref, leftover.metadata.uid as string | undefined)
    } catch (error) {
      throw failure(client, error, 'delete', ref, changes)
    }
    changes.push({ ref, action: 'pruned' })
    options.log.info(`${describeRef(ref)} pruned${dryRun ? ' (dry run)' : ''}`)
  }
  return changes
}

/** Applies one object (or dry-runs it) and says what that did, by its content before and after. */
async function applyOne(
  client: KubeClient,
  object: KubeObject,
  dryRun: boolean,
): Promise<InstallAction> {
  const before = await client.get(refOf(object))
  // A dry run of an object in a namespace the install has not made yet would fail: it is new anyway.
  if (!before && dryRun) return 'created'
  const after = await client.apply(object, {
    fieldManager: INSTALL_FIELD_MANAGER,
    force: true,
    dryRun,
  })
  if (!before) return 'created'
  // Content, not resourceVersion: a controller writing status in between is no change of the install's.
  return comparable(after) === comparable(before) ? 'unchanged' : 'configured'
}

/**
 * What carries this install's label, in prune order (the Deployment first). Never a Namespace: deleting
 * one deletes everything in it, and the install's own is always in the set.
 */
async function leftovers(
  client: KubeClient,
  objects: KubeObject[],
  namespace: string,
  changes: InstallChange[],
): Promise<KubeObject[]> {
  const kinds = new Map<string, [string, string]>()
  for (const [apiVersion, kind] of [
    ...INSTALL_KINDS,
    ...objects.map((o): [string, string] => [o.apiVersion, o.kind]),
  ])
    if (kind !== 'Namespace') kinds.set(`${apiVersion}/${kind}`, [apiVersion, kind])
  const found: KubeObject[] = []
  for (const [apiVersion, kind] of kinds.values()) {
    let where: string | undefined
    try {
      // Every namespaced object of an install is in its namespace: no need to read any other.
      where = (await client.isNamespaced(apiVersion, kind)) ? namespace : undefined
      const listed = await client.list(apiVersion, kind, {
        namespace: where,
        labelSelector: `${INSTALL_LABEL}=${namespace}`,
      })
      // The server filtered by the label; checked again here, as nothing unlabelled may ever go.
      found.push(...listed.filter((o) => isInstalledBy(o, namespace)))
    } catch (error) {
      // A kind this cluster does not serve holds nothing of ours.
      if (error instanceof KubeError && error.code === 404) continue
      const ref = { apiVersion, kind, name: '', ...(where ? { namespace: where } : {}) }
      throw failure(client, error, 'list', ref, changes)
    }
  }
  return inApplyOrder(found).reverse()
}

/** `clusterroles` of `ClusterRole`: the resource RBAC rules name. */
function resourceOf(kind: string): string {
  const lower = kind.toLowerCase()
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`
  return /(s|x|ch|sh)$/.test(lower) ? `${lower}es` : `${lower}s`
}

/** The error an install stops with: what failed, on which object, and what to fix. */
function failure(
  client: KubeClient,
  error: unknown,
  operation: 'apply' | 'list' | 'delete',
  ref: ObjectRef,
  changes: InstallChange[],
): InstallApplyError {
  const what =
    operation === 'list'
      ? `list ${ref.kind} objects (to find what an earlier install left)`
      : `${operation} ${describeRef(ref)}`
  const done = changes.length > 0 ? ` (${changes.length} objects done before it)` : ''
  const rerun = `nothing after it was attempted${done}: run again once fixed`
  const message = error instanceof Error ? error.message : String(error)
  const stop = (text: string) =>
    new InstallApplyError(`install: ${text}`, [...changes], { cause: error })
  if (!(error instanceof KubeError) || ![0, 401, 403].includes(error.code))
    return stop(`cannot ${what}: ${message}; ${rerun}`)
  if (error.code === 0)
    return stop(
      `cannot ${what}: ${message}. Check the kubeconfig (its server and credentials) and that this runner can reach ${client.server}; ${rerun}`,
    )
  if (error.code === 401)
    return stop(
      `cannot ${what}: the API server at ${client.server} does not accept the kubeconfig's credentials: ${message}; ${rerun}`,
    )
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : ''
  const verbs = { apply: 'get, create and patch', list: 'list', delete: 'delete' }[operation]
  const scope = ref.namespace ? `in the namespace ${ref.namespace}` : 'cluster-wide'
  const grants =
    ref.kind === 'ClusterRole' || ref.kind === 'Role'
      ? ' Granting the agent its rights also takes holding every right the role grants (the ClusterRole grants all), or the verb escalate on it.'
      : ref.kind.endsWith('RoleBinding')
        ? ' Binding the agent to its role also takes holding every right the role grants, or the verb bind on it.'
        : ''
  return stop(
    `may not ${what}: the kubeconfig's user lacks the right to ${verbs} ${resourceOf(ref.kind)} (API group "${group}") ${scope}.${grants} Grant it to the identity this job uses (installing the agent takes cluster-admin); ${rerun}. The API server said: ${message}`,
  )
}
