/** Every command, by name, with its aliases: what the root action and the CLI dispatch on. */
import type { AnyCommand } from './command.js'
import { publishReleaseCommand } from './publish-release/command.js'
import { renderCommand } from './render/command.js'
import { rollbackCommand } from './rollback/command.js'
import { unpinCommand } from './unpin/command.js'

export const commands: Record<string, AnyCommand> = {
  render: renderCommand,
  'publish-release': publishReleaseCommand,
  rollback: rollbackCommand,
  unpin: unpinCommand,
}

/** Other names a command answers to. */
export const aliases: Record<string, string> = { publish: 'publish-release' }

export function findCommand(name: string): AnyCommand | undefined {
  return commands[aliases[name] ?? name]
}
