/**
 * Retry bookkeeping: a unit that failed waits before it is tried again, twice as long after each failure
 * of the same content (from the poll interval up to the sync interval); new content is tried at once.
 */
import type { Unit } from '../units.js'

interface RetryState {
  failures: number
  retryAt: number
  /** The content that failed: a new commit of the unit is tried at once. */
  digest: string
}

export class Retries {
  private readonly byUnit = new Map<string, RetryState>()

  constructor(
    /** The first wait (`--git-poll-interval`). */
    private readonly firstMs: number,
    /** The longest wait (`--sync-interval`). */
    private readonly maxMs: number,
  ) {}

  /** The unit failed now: its next try waits. */
  failed(unit: Unit): void {
    const previous = this.byUnit.get(unit.path)
    const failures = (previous?.digest === unit.digest ? previous.failures : 0) + 1
    const delay = Math.min(this.maxMs, this.firstMs * 2 ** (failures - 1))
    this.byUnit.set(unit.path, { failures, retryAt: Date.now() + delay, digest: unit.digest })
  }

  /** The unit synced: it is no longer waiting. */
  succeeded(unit: Unit): void {
    this.byUnit.delete(unit.path)
  }

  /** When the unit, which failed with this same content, may be tried again; undefined: now. */
  waitingUntil(unit: Unit, now: number): number | undefined {
    const retry = this.byUnit.get(unit.path)
    return retry && retry.digest === unit.digest && now < retry.retryAt ? retry.retryAt : undefined
  }
}
