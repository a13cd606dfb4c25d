/** What a cycle ends with: an outcome per unit, logged one line each, and the cycle's result. */
import type { ChangeEntry } from '../../lib/kube/apply.js'
import type { Logger } from '../../lib/log.js'
import { describeRef } from '../../lib/manifests/identity.js'
import type { AgentConfig } from '../config.js'
import type { Unit } from '../units.js'

export type UnitStatus = 'synced' | 'unchanged' | 'failed' | 'pruned' | 'orphaned'

export interface UnitOutcome {
  unit: string
  status: UnitStatus
  commit: string
  applied: number
  pruned: number
  /** Objects the unit declares. */
  objects: number
  /** The unit's content digest (the same content gives the same digest). */
  digest?: string
  /** Its content differs from what was last applied (false: a re-apply of the same release). */
  changed?: boolean
  /** The plan, per object (dry-run and logs). */
  changes: ChangeEntry[]
  healthy?: boolean
  error?: string
  release?: Unit['release']
}

export interface CycleResult {
  /** Milliseconds spent on git, on loading units, on applying and pruning, on waiting for health. */
  phases?: { gitMs: number; loadMs: number; applyMs: number; healthMs: number }
  commit?: string
  /** The remote could not be reached: nothing was done. */
  gitError?: string
  /** The API server could not be read: nothing was done (every unit says so, none is to blame). */
  apiError?: string
  units: UnitOutcome[]
}

/** A unit's outcome: nothing applied or pruned unless `extra` says so. */
export function outcome(
  unit: Unit,
  status: UnitStatus,
  commit: string,
  extra: Partial<UnitOutcome> = {},
): UnitOutcome {
  return {
    unit: unit.path,
    status,
    commit,
    applied: 0,
    pruned: 0,
    objects: unit.objects.length,
    digest: unit.digest,
    changes: [],
    release: unit.release,
    ...extra,
  }
}

/** One line per unit; a dry run also tells its plan, object by object. */
export function logOutcome(log: Logger, config: AgentConfig, o: UnitOutcome): void {
  const version = o.release?.version ? ` version=${o.release.version}` : ''
  const line = `event=sync unit=${o.unit} status=${o.status} commit=${o.commit.slice(0, 12)}${version} applied=${o.applied} pruned=${o.pruned}`
  if (o.status === 'failed') log.error(`${line} error=${JSON.stringify(o.error)}`)
  // A running agent says nothing of units that did not change; one run (--once) tells every unit.
  else if (o.status === 'unchanged' && !config.once) log.debug(line)
  else if (o.status !== 'orphaned') log.info(line)
  if (config.dryRun) {
    for (const c of o.changes)
      log.info(
        `plan unit=${o.unit} ${c.action === 'deleted' ? 'prune' : c.action === 'created' ? 'create' : c.action === 'configured' ? 'configure' : c.action} ${describeRef(c.ref)}`,
      )
  }
}

/** The first few errors, and how many more: one failing namespace can fail hundreds of objects. */
export function summarize(errors: string[]): string {
  const shown = errors.slice(0, 3).join('; ')
  return errors.length > 3 ? `${shown}; and ${errors.length - 3} more` : shown
}

/** When each phase of a cycle ended, for its result's `phases`. */
export class PhaseClock {
  private readonly marks = { start: Date.now(), git: 0, load: 0, apply: 0 }

  gitDone(): void {
    this.marks.git = Date.now()
  }
  loadDone(): void {
    this.marks.load = Date.now()
  }
  applyDone(): void {
    this.marks.apply = Date.now()
  }
  phases(): NonNullable<CycleResult['phases']> {
    const { start, git, load, apply } = this.marks
    return {
      gitMs: git - start,
      loadMs: load - git,
      applyMs: apply - load,
      healthMs: Date.now() - apply,
    }
  }
}
