/**
 * Everything the agent tells the outside about a cycle: metrics and readiness always; Events, chat and
 * commit statuses on a unit's change of state. A dry run reports nothing outside the process.
 */
import type { Logger } from '../../lib/log.js'
import type { CycleResult, UnitOutcome } from '../cycle.js'
import type { EventRecorder } from './events.js'
import type { Metrics } from './metrics.js'
import type { Notifier } from './notify.js'
import type { CommitStatuses } from './statuses.js'
import { Transitions } from './transitions.js'

export interface ReporterParts {
  metrics: Metrics
  events?: EventRecorder
  notifier?: Notifier
  statuses?: CommitStatuses
  log: Logger
}

export class Reporter {
  private readonly transitions = new Transitions()
  private synced = false
  private remoteError?: string
  private apiError?: string

  constructor(private readonly parts: ReporterParts) {}

  /**
   * Why `/readyz` says no: no cycle finished yet, or the remote or the API server failed at the last
   * try.
   */
  notReady(): string | undefined {
    if (this.apiError) return `the API server failed: ${this.apiError}`
    if (this.remoteError) return `the git remote failed: ${this.remoteError}`
    if (!this.synced) return 'no sync has completed since start'
    return undefined
  }

  /** A unit's new content was applied: its commit statuses go pending while health is awaited. */
  async applied(o: UnitOutcome): Promise<void> {
    if (this.parts.statuses && this.transitions.peek(o)) await this.parts.statuses.set(o, 'pending')
  }

  /** The API server failed outside a cycle (taking the lease): not ready until a cycle gets through. */
  apiFailed(reason: string): void {
    this.apiError = reason
  }

  async cycleDone(result: CycleResult, durationMs: number): Promise<void> {
    this.parts.metrics.record(result, durationMs)
    this.remoteError = result.gitError
    this.apiError = result.apiError
    if (result.gitError !== undefined) return
    // The API server failing fails every unit alike: no unit changed state, nothing to announce.
    if (result.apiError !== undefined) return
    this.synced = true
    const sends: Promise<void>[] = []
    for (const o of result.units) {
      const change = this.transitions.record(o)
      if (!change) continue
      if (this.parts.events) sends.push(this.parts.events.record(change, o))
      if (this.parts.notifier) sends.push(this.parts.notifier.send(change, o))
      if (
        this.parts.statuses &&
        (change === 'released' || change === 'recovered' || change === 'failed')
      ) {
        sends.push(this.parts.statuses.set(o, change === 'failed' ? 'failure' : 'success'))
      }
    }
    await Promise.all(sends)
  }
}
