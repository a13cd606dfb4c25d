/**
 * The reliability suite's table: each scenario records one row (`fault | tries | recovered | lost`), which
 * `scripts/reliability.mjs` prints when the suite ends. A scenario also asserts its own `lost` is 0, so a
 * run without the script fails the same way.
 */
import { appendFileSync } from 'node:fs'

export interface FaultRow {
  /** What was injected: `publish: pre-receive hook refuses 30 %`. */
  fault: string
  /** How many times it was tried (publishes, cycles, fuzz cases). */
  tries: number
  /** How many of those ended well: landed, converged, refused with a clear error. */
  recovered: number
  /** What was lost or wrongly changed: commits, objects wrongly pruned, secrets found. Must be 0. */
  lost: number
}

/** Adds a row to the table (a no-op when the suite runs without the script). */
export function recordFault(row: FaultRow): void {
  const file = process.env.RELIABILITY_REPORT
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`)
}
