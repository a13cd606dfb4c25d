/**
 * Step 5, per unit: its inventory (objects, digests, commit, time of the last full apply), the read-only
 * sync state and what survives a restart. Never written in a dry run.
 */
import type { ChangeEntry } from '../../lib/kube/apply.js'
import { errorMessage } from '../../lib/errors.js'
import { refKey, refOf } from '../../lib/manifests/identity.js'
import { objectDigest } from '../../lib/manifests/objects.js'
import type { AgentContext, CycleState } from './context.js'
import { outcome, type UnitOutcome, type UnitStatus } from './outcome.js'
import type { Prepared } from './prepare.js'
import type { Pruned } from './prune.js'

/** Records the unit's inventory and ends its steps: synced, unchanged or pruned, or failed to record. */
export async function record(
  { config, inventoryCache, retries }: AgentContext,
  { commit }: CycleState,
  { unit, inventory, applyWanted }: Prepared,
  changes: ChangeEntry[],
  pruned: Pruned,
): Promise<UnitOutcome> {
  if (!config.dryRun) {
    try {
      await inventoryCache.write({
        unit: unit.path,
        commit,
        digest: unit.digest,
        lastApplied: applyWanted ? new Date().toISOString() : (inventory?.lastApplied ?? ''),
        objects: [...pruned.current, ...pruned.unpruned],
        resourceVersion: inventory?.resourceVersion,
      })
    } catch (error) {
      retries.failed(unit)
      return outcome(unit, 'failed', commit, {
        changes,
        applied: changes.length,
        pruned: pruned.count,
        error: `recording the inventory: ${errorMessage(error)}`,
      })
    }
  }
  retries.succeeded(unit)
  const status: UnitStatus = unit.retired
    ? 'pruned'
    : applyWanted || pruned.count > 0
      ? 'synced'
      : 'unchanged'
  return outcome(unit, status, commit, {
    changed: inventory?.digest !== unit.digest,
    changes: [...changes, ...pruned.entries],
    applied: changes.length,
    pruned: pruned.count,
  })
}

/**
 * A unit that failed part-way: what did apply is recorded (so it can be pruned later), and the empty
 * digest makes the next cycle apply the unit again, whatever git then says.
 */
export async function recordPartial(
  { inventoryCache, log }: AgentContext,
  commit: string,
  { unit, inventory, objects }: Prepared,
  changes: ChangeEntry[],
): Promise<void> {
  const applied = new Set(changes.filter((c) => c.action === 'applied').map((c) => refKey(c.ref)))
  const entries = [
    ...(inventory?.objects ?? []).filter((e) => !applied.has(refKey(e))),
    ...objects
      .filter(({ object }) => applied.has(refKey(refOf(object))))
      .map(({ object }) => ({ ...refOf(object), digest: objectDigest(object) })),
  ]
  await inventoryCache
    .write({
      unit: unit.path,
      commit,
      digest: '',
      lastApplied: inventory?.lastApplied ?? '',
      objects: entries,
      resourceVersion: inventory?.resourceVersion,
    })
    .catch((error: unknown) =>
      log.warn(`event=inventory-error unit=${unit.path}: ${errorMessage(error)}`),
    )
}
