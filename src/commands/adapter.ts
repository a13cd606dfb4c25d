/**
 * What both adapters (the GitHub Action and the CLI) do with a command, so that each keeps only where
 * values come from and where results go: read its inputs, with the defaults of its action.yml where one
 * is empty, run it, hand back its outputs and summary, and tell a failure's message from a bug's stack.
 * The adapters import `src/commands` alone: what they need of the library comes through here.
 */
import { ConfigurationError, errorMessage } from '../lib/errors.js'
import { Inputs, type InputSource } from '../lib/inputs.js'
import type { Logger } from '../lib/log.js'
import { cleanUpOnStopSignals } from '../lib/process/cleanup.js'
import type { AnyCommand } from './command.js'
import { specs, type CommandSpec } from './specs.generated.js'

/** The command's inputs and outputs, from its action.yml. */
export function specOf(command: AnyCommand): CommandSpec {
  return specs[command.name]
}

/** The inputs that are true/false (their default says so). */
export function booleanInputs(spec: CommandSpec): Set<string> {
  return new Set(
    Object.entries(spec.inputs)
      .filter(([, s]) => s.default === 'true' || s.default === 'false')
      .map(([name]) => name),
  )
}

/** A command's inputs read from `source`, with its action.yml's defaults where a value is empty. */
export function commandInputs(command: AnyCommand, source: InputSource): Inputs {
  const spec = specOf(command)
  const defaults = Object.fromEntries(Object.entries(spec.inputs).map(([k, v]) => [k, v.default]))
  return new Inputs(source, defaults)
}

export interface CommandRun {
  /** Output name → value. */
  outputs: Record<string, string>
  /** The job summary's Markdown. */
  summary: () => string
}

/** Reads every input (refusing bad ones before any work), runs the command, and gives its results. */
export async function runCommand(
  command: AnyCommand,
  source: InputSource,
  log: Logger,
): Promise<CommandRun> {
  // Stopped (a cancelled job, Ctrl-C), a run removes its clone and SSH key before it exits.
  cleanUpOnStopSignals()
  const options: unknown = command.getInputs(commandInputs(command, source))
  const result: unknown = await command.run(options, log)
  return { outputs: command.outputs(result), summary: () => command.summary(result) }
}

/** A failure as an adapter reports it: the message, and the stack only for a bug, not a user's mistake. */
export function failure(error: unknown): { message: string; stack?: string } {
  const bug = !(error instanceof ConfigurationError) && error instanceof Error
  return { message: errorMessage(error), stack: bug ? error.stack : undefined }
}

// What the adapters use of the library, so that they import src/commands alone.
export { parseFlags, type FlagSpec } from '../lib/args.js'
export { consoleLogger, type Logger } from '../lib/log.js'
