/** The GitHub Actions adapter: inputs from the runner, outputs and a job summary back to it. */
import * as core from '@actions/core'
import { failure, runCommand, type Logger } from '../commands/adapter.js'
import type { AnyCommand } from '../commands/command.js'

const githubLogger: Logger = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  warn: (m) => core.warning(m),
  error: (m) => core.error(m),
}

/** Runs one command as a GitHub Action step. Never throws: failures go to `core.setFailed`. */
export async function runAction(command: AnyCommand): Promise<void> {
  try {
    const { outputs, summary } = await runCommand(
      command,
      { get: (name) => core.getInput(name), mask: (s) => core.setSecret(s) },
      githubLogger,
    )
    for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summary()).write()
  } catch (error) {
    const { message, stack } = failure(error)
    if (stack) core.debug(stack)
    core.setFailed(`${command.name}: ${message}`)
  }
}
