/**
 * A command: one action's core behind the shape both adapters (GitHub Actions and the CLI) drive. It
 * reads typed options through `Inputs`, runs the library core, and turns the result into outputs and a
 * job summary. Nothing here imports `@actions/core`.
 */
import type { Inputs } from '../lib/inputs.js'
import type { ChangeOutcome } from '../lib/gitops/transaction.js'
import type { Logger } from '../lib/log.js'

export interface Command<Options, Result> {
  name: string
  /** Reads and validates every input before any work starts. */
  getInputs(inputs: Inputs): Options
  run(options: Options, log: Logger): Promise<Result>
  /** Output name → value, for `GITHUB_OUTPUT` or `key=value` lines. */
  outputs(result: Result): Record<string, string>
  /** Markdown for the job summary. */
  summary(result: Result): string
}

/** The outputs every command that writes to the gitops repo gives. */
export function changeOutputs(r: ChangeOutcome): Record<string, string> {
  return {
    commit: r.commit ?? '',
    changed: String(r.changed),
    attempts: String(r.attempts),
    'pull-request-url': r.pullRequestUrl ?? '',
  }
}

// The registry holds commands of different option types; the adapters only pass values through.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = Command<any, any>
