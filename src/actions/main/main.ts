/** The all-in-one action at the repository root: `command` names the action to run. */
import * as core from '@actions/core'
import { aliases, commands, findCommand } from '../commands.js'
import { runAction } from '../github.js'

export async function run(): Promise<void> {
  const name = core.getInput('command').trim()
  const command = findCommand(name)
  if (!command) {
    const known = [...Object.keys(commands), ...Object.keys(aliases)].sort().join(', ')
    // The value is not quoted back: whatever was given may be a misplaced secret.
    core.setFailed(`gitops-actions: input 'command' must be one of ${known}`)
    return
  }
  await runAction(command)
}
