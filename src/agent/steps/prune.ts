/**
 * Step 4, per unit, once it applied cleanly: what its inventory had and no unit declares now is deleted
 * (opt-in; a retired unit's objects on purpose), when the live object still carries the unit's label.
 */
import { pruneObjects, type ChangeEntry } from '../../lib/kube/apply.js'
import type { InventoryEntry } from '../../lib/kube/inventory.js'
import { describeRef, refKey, refOf } from '../../lib/manifests/identity.js'
import { objectDigest } from '../../lib/manifests/objects.js'
import type { AgentContext, CycleState } from './context.js'
import type { Prepared } from './prepare.js'

export interface Pruned {
  /** Every object the unit declares now, as its inventory holds them (those another unit applies too). */
  current: InventoryEntry[]
  /** What was deleted, skipped or failed. */
  entries: ChangeEntry[]
  /** Objects deleted (none in a dry run). */
  count: number
  /** What is still to be pruned, kept in the inventory: all while pruning is off or dry, and what failed. */
  unpruned: InventoryEntry[]
}

export async function prune(
  { config, client, log, agentName, limiter, hold }: AgentContext,
  { ownership }: CycleState,
  { unit, inventory, objects, pruneWanted, hash }: Prepared,
): Promise<Pruned> {
  const current: InventoryEntry[] = objects.map(({ object }) => ({
    ...refOf(object),
    digest: objectDigest(object),
  }))
  const mine = new Set(current.map(refKey))
  const gone = (inventory?.objects ?? []).filter(
    (e) => !mine.has(refKey(e)) && !ownership.declares(e),
  )
  let entries: ChangeEntry[] = []
  const dry = config.dryRun || (config.gcDry && !unit.retired)
  if (gone.length > 0 && pruneWanted && hold.reason) {
    log.warn(
      `event=prune-held unit=${unit.path}: ${gone.length} objects wait to be pruned (${hold.reason})`,
    )
  } else if (gone.length > 0 && pruneWanted) {
    entries = await pruneObjects(
      client,
      gone,
      { agent: agentName, unit: hash },
      {
        dryRun: dry,
        limiter,
        // Its lease and inventories live there: git may declare it, never have it deleted.
        protect: (ref) =>
          ref.kind === 'Namespace' && ref.name === config.namespace
            ? "the agent's own namespace is never pruned"
            : undefined,
      },
    )
    for (const p of entries) {
      if (p.action === 'deleted')
        log.info(`event=${dry ? 'would-prune' : 'pruned'} unit=${unit.path} ${describeRef(p.ref)}`)
      else if (p.action === 'skipped')
        log.info(`event=prune-skipped unit=${unit.path} ${describeRef(p.ref)}: ${p.error}`)
      else log.error(`event=prune-failed unit=${unit.path} ${describeRef(p.ref)}: ${p.error}`)
    }
  } else if (gone.length > 0) {
    log.info(
      `event=prune-off unit=${unit.path}: ${gone.length} objects left in git's past are kept (--sync-garbage-collection is off)`,
    )
  }
  const count = dry ? 0 : entries.filter((p) => p.action === 'deleted').length
  // What was skipped on purpose is no longer this unit's.
  const settled = new Set(
    entries
      .filter((p) => (p.action === 'deleted' && !dry) || p.action === 'skipped')
      .map((p) => refKey(p.ref)),
  )
  return { current, entries, count, unpruned: gone.filter((g) => !settled.has(refKey(g))) }
}
