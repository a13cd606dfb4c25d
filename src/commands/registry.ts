/** Every command, by name, with its aliases: what the root action and the CLI dispatch on. */
import type { AnyCommand } from './command.js'
import { installAgentCommand } from './install-agent.js'
import { publishReleaseCommand } from './publish-release.js'
import { renderCommand } from './render.js'
import { rollbackCommand } from './rollback.js'
import { unpinCommand } from './unpin.js'

export const commands: Record<string, AnyCommand> = {
  render: renderCommand,
  'publish-release': publishReleaseCommand,
  rollback: rollbackCommand,
  unpin: unpinCommand,
  'install-agent': installAgentCommand,
}

/** Other names a command answers to. */
export const aliases: Record<string, string> = { publish: 'publish-release' }

export function findCommand(name: string): AnyCommand | undefined {
  const target = Object.hasOwn(aliases, name) ? aliases[name] : name
  return Object.hasOwn(commands, target) ? commands[target] : undefined
}

/** Every name a command answers to, sorted. */
export function commandNames(): string[] {
  return [...Object.keys(commands), ...Object.keys(aliases)].sort()
}
