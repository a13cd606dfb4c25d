/** Units gone from git: their objects stay in place (retiring an app removes it), and a warning says so. */
import type { Inventory } from '../../lib/kube/inventory.js'
import type { Logger } from '../../lib/log.js'
import type { Unit } from '../units.js'
import type { UnitOutcome } from './outcome.js'

/** An `orphaned` outcome for each inventory under the git paths whose unit is gone. */
export function orphans(
  log: Logger,
  gitPaths: string[],
  units: Unit[],
  inventories: Map<string, Inventory>,
  commit: string,
): UnitOutcome[] {
  const present = new Set(units.map((u) => u.path))
  const outcomes: UnitOutcome[] = []
  for (const [path, inv] of inventories) {
    const underOurPaths = gitPaths.some((p) => p === '' || path === p || path.startsWith(`${p}/`))
    if (!present.has(path) && underOurPaths) {
      log.warn(
        `event=orphaned unit=${path}: the unit is gone from git; its ${inv.objects.length} objects are left in place (retire an app to remove it)`,
      )
      outcomes.push({
        unit: path,
        status: 'orphaned',
        commit,
        applied: 0,
        pruned: 0,
        objects: inv.objects.length,
        changes: [],
      })
    }
  }
  return outcomes
}
