/** The all-in-one action at the repository root: `command` names the action to run. */
import * as core from '@actions/core'
import { commandNames, findCommand } from '../../commands/registry.js'
import { runAction } from '../github.js'

export async function run(): Promise<void> {
  const command = findCommand(core.getInput('command').trim())
  // The value is not quoted back: whatever was given may be a misplaced secret.
  if (!command)
    core.setFailed(`gitops-actions: input 'command' must be one of ${commandNames().join(', ')}`)
  else await runAction(command)
}
