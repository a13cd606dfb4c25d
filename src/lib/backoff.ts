/**
 * Bounded, jittered back-off: the one way the product waits between retries of a network call (a rejected
 * push, an unreachable git host or API server). Jitter keeps many pipelines or agents that failed together
 * from retrying together.
 */
export interface BackoffOptions {
  /** The first bound, doubled on each failure. */
  baseMs: number
  /** The largest bound. */
  capMs: number
  /**
   * `full`: any wait up to the bound (spreads contending writers widest); `equal`: between half the bound
   * and the bound (a waiting agent never retries at once).
   */
  jitter: 'full' | 'equal'
  random?: () => number
}

export class Backoff {
  private failures = 0

  constructor(private readonly options: BackoffOptions) {}

  /** The wait before the next attempt; each call counts one more failure. */
  next(): number {
    const { baseMs, capMs, jitter, random = Math.random } = this.options
    const bound = Math.min(capMs, baseMs * 2 ** Math.min(this.failures++, 20))
    return jitter === 'full'
      ? Math.floor(random() * bound)
      : Math.round(bound * (0.5 + random() * 0.5))
  }

  /** After a success: the next failure waits the first bound again. */
  reset(): void {
    this.failures = 0
  }
}
