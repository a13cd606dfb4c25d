/** The GitHub Actions adapter: inputs from the runner, outputs and a job summary back to it. */
import * as core from '@actions/core'
import { ConfigurationError, errorMessage } from '../lib/errors.js'
import { Inputs } from '../lib/inputs.js'
import type { Logger } from '../lib/log.js'
import { cleanUpOnStopSignals } from '../lib/process/cleanup.js'
import type { AnyCommand } from './command.js'
import { specs } from './specs.generated.js'

export const githubLogger: Logger = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  warn: (m) => core.warning(m),
  error: (m) => core.error(m),
}

/** The runner's inputs, with the defaults of the command's own action.yml where one is empty. */
export function githubInputs(command: string): Inputs {
  const spec = specs[command]
  const defaults = Object.fromEntries(Object.entries(spec.inputs).map(([k, v]) => [k, v.default]))
  return new Inputs(
    { get: (name) => core.getInput(name), mask: (s) => core.setSecret(s) },
    defaults,
  )
}

/** Runs one command as a GitHub Action step. Never throws: failures go to `core.setFailed`. */
export async function runAction(command: AnyCommand): Promise<void> {
  // A cancelled job (SIGTERM) must not leave a clone or an SSH key in the runner's temp folder.
  cleanUpOnStopSignals()
  try {
    const options: unknown = command.getInputs(githubInputs(command.name))
    const result: unknown = await command.run(options, githubLogger)
    const outputs = command.outputs(result)
    for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
    if (process.env.GITHUB_STEP_SUMMARY) {
      await core.summary.addRaw(command.summary(result)).write()
    }
  } catch (error) {
    if (!(error instanceof ConfigurationError) && error instanceof Error && error.stack) {
      core.debug(error.stack)
    }
    core.setFailed(`${command.name}: ${errorMessage(error)}`)
  }
}
