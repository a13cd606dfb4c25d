/**
 * Step 3a, per unit: whether it is applied at all (changed, due for a full re-apply, inheriting an object,
 * or with leftovers to prune), and its objects as they are applied: the default namespace filled in, the
 * agent's and the unit's labels added.
 */
import { ConfigurationError, errorMessage } from '../../lib/errors.js'
import { groupKind } from '../../lib/kube/apply.js'
import type { Inventory } from '../../lib/kube/inventory.js'
import {
  AGENT_LABEL,
  DOMAIN,
  UNIT_ANNOTATION,
  UNIT_LABEL,
  unitHash,
} from '../../lib/kube/labels.js'
import { AGENT_LEASE } from '../../lib/kube/lease.js'
import { objectKey } from '../../lib/manifests/identity.js'
import type { KubeObject } from '../../lib/manifests/yaml.js'
import type { Unit } from '../units.js'
import type { AgentContext, CycleState, Step } from './context.js'
import { outcome, type UnitOutcome } from './outcome.js'

/** What marks the agent's inventories (ConfigMaps in its namespace), refused in git. */
const INVENTORY_LABEL = `${DOMAIN}/inventory`
const INVENTORY_PREFIX = 'gitops-unit-'

/** One of the unit's objects as it is applied. */
export interface ResolvedObject {
  object: KubeObject
  namespaced: boolean
  /** This unit applies it (another unit declaring it identically may, instead). */
  ours: boolean
}

/** A unit ready for its apply, prune and record steps. */
export interface Prepared {
  unit: Unit
  /** What it last applied. */
  inventory?: Inventory
  /** Its content is applied; false: it is unchanged, and only its leftovers are pruned. */
  applyWanted: boolean
  /** Pruning is on (or the unit is retired). */
  pruneWanted: boolean
  /** The value of the unit label. */
  hash: string
  /** Every object the unit declares (none when retired). */
  objects: ResolvedObject[]
}

/** Decides what the unit needs, and resolves its objects; a unit with nothing to do ends here. */
export async function prepare(
  ctx: AgentContext,
  cycle: CycleState,
  unit: Unit,
): Promise<Step<Prepared, UnitOutcome>> {
  const { config, retries } = ctx
  const { commit } = cycle
  const inventory = cycle.inventories.get(unit.path)
  const full = cycle.full || cycle.ownership.heirs.has(unit.path)
  if (unit.error) {
    retries.failed(unit)
    return { end: outcome(unit, 'failed', commit, { error: unit.error }) }
  }
  // A unit that had objects and now declares none is far likelier broken (emptied files, a build that
  // gave nothing) than meant: its objects are removed only when its release says it is retired.
  const had = inventory?.objects.length ?? 0
  if (unit.objects.length === 0 && !unit.retired && had > 0) {
    retries.failed(unit)
    return {
      end: outcome(unit, 'failed', commit, {
        error: `${unit.path} holds no objects now; its ${had} objects are kept and nothing is pruned. To remove an app on purpose, publish its release with retire: true`,
      }),
    }
  }
  const now = Date.now()
  const due =
    !inventory ||
    full ||
    config.dryRun ||
    now - Date.parse(inventory.lastApplied || '0') >= config.syncIntervalMs
  // Objects left in the inventory (kept while pruning was off) are pruned as soon as it is on.
  const leftovers = inventory !== undefined && inventory.objects.length > unit.objects.length
  const pruneWanted = unit.retired || config.gc || config.gcDry
  const upToDate = inventory !== undefined && inventory.digest === unit.digest && !due
  if (upToDate && !(leftovers && pruneWanted)) return { end: outcome(unit, 'unchanged', commit) }
  const retryAt = retries.waitingUntil(unit, now)
  if (retryAt !== undefined && !full) {
    return {
      end: outcome(unit, 'failed', commit, {
        error: `retrying after ${new Date(retryAt).toISOString()}`,
      }),
    }
  }
  const hash = unitHash(unit.path)
  let objects: ResolvedObject[]
  try {
    objects = await resolveObjects(ctx, cycle, unit, hash)
  } catch (error) {
    retries.failed(unit)
    return { end: outcome(unit, 'failed', commit, { error: errorMessage(error) }) }
  }
  warnOwnedFields(
    ctx,
    unit,
    objects.filter((r) => r.ours).map((r) => r.object),
  )
  // An unchanged unit with leftovers is not applied again, only pruned.
  return { next: { unit, inventory, applyWanted: !upToDate, pruneWanted, hash, objects } }
}

/** Objects get the default namespace, and the agent's and unit's labels. */
async function resolveObjects(
  { config, client, agentName }: AgentContext,
  { crdKinds, ownership }: CycleState,
  unit: Unit,
  hash: string,
): Promise<ResolvedObject[]> {
  const resolved: ResolvedObject[] = []
  for (const { object } of unit.retired ? [] : unit.objects) {
    const namespaced =
      crdKinds.get(groupKind(object.apiVersion, object.kind)) ??
      (await client.isNamespaced(object.apiVersion, object.kind))
    const metadata = { ...object.metadata }
    if (namespaced && !metadata.namespace) metadata.namespace = config.defaultNamespace
    if (!namespaced) delete metadata.namespace
    refuseOwnState(config.namespace, agentName, object, metadata, hash)
    metadata.labels = {
      ...(metadata.labels as Record<string, string> | undefined),
      [AGENT_LABEL]: agentName,
      [UNIT_LABEL]: hash,
    }
    metadata.annotations = {
      ...(metadata.annotations as Record<string, string> | undefined),
      [UNIT_ANNOTATION]: unit.path,
    }
    resolved.push({
      object: { ...object, metadata },
      namespaced,
      ours: ownership.appliedBy.get(objectKey(object)) === unit.path,
    })
  }
  return resolved
}

/**
 * Git never writes the agent's own state: its Lease (an object in git holding it would lock the agent
 * out), its inventories (replacing one rewrites what the agent believes it applied), or the labels
 * that mark them and what it owns. Checked once the default namespace is filled in.
 */
function refuseOwnState(
  agentNamespace: string,
  agentName: string,
  object: KubeObject,
  metadata: KubeObject['metadata'],
  hash: string,
): void {
  const where = metadata.namespace ? `${metadata.namespace}/` : ''
  const what = `${object.kind} ${where}${metadata.name}`
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : ''
  const own = metadata.namespace === agentNamespace
  const fix = "remove it from git (the agent's own state is never taken from git)"
  if (
    own &&
    object.kind === 'Lease' &&
    group === 'coordination.k8s.io' &&
    metadata.name === AGENT_LEASE
  )
    throw new ConfigurationError(`${what} is the agent's own lease: ${fix}`)
  if (
    own &&
    object.kind === 'ConfigMap' &&
    group === '' &&
    metadata.name.startsWith(INVENTORY_PREFIX)
  )
    throw new ConfigurationError(
      `${what} is named as the agent's inventories are (${INVENTORY_PREFIX}*) in its namespace: ${fix}`,
    )
  const labels = (metadata.labels ?? {}) as Record<string, string>
  if (INVENTORY_LABEL in labels)
    throw new ConfigurationError(
      `${what} carries the label ${INVENTORY_LABEL}, which marks the agent's inventories: ${fix}`,
    )
  // Set by the agent itself; the same values (an object exported from the cluster) are harmless.
  for (const [label, value] of [
    [AGENT_LABEL, agentName],
    [UNIT_LABEL, hash],
  ] as const) {
    if (label in labels && labels[label] !== value)
      throw new ConfigurationError(
        `${what} carries the label ${label} with another value than the agent sets: ${fix}`,
      )
  }
}

/** Fields another controller owns (an HPA's replicas) belong out of git: say so. */
function warnOwnedFields({ log }: AgentContext, unit: Unit, objects: KubeObject[]): void {
  const scaled = new Set(
    objects
      .filter((o) => o.kind === 'HorizontalPodAutoscaler')
      .map((o) => {
        const target = (o.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)
          ?.scaleTargetRef
        return `${target?.kind}/${o.metadata.namespace ?? ''}/${target?.name}`
      }),
  )
  for (const o of objects) {
    if (
      scaled.has(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`) &&
      (o.spec as { replicas?: number } | undefined)?.replicas !== undefined
    ) {
      log.warn(
        `event=owned-field unit=${unit.path} ${o.kind}/${o.metadata.name} sets spec.replicas, which its HorizontalPodAutoscaler owns; the agent forces git's value on every apply — remove replicas from git`,
      )
    }
  }
}
