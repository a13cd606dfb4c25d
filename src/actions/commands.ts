/** Every command, by name, with its aliases: what the root action and the CLI dispatch on. */
import type { AnyCommand } from './command.js'
import { renderCommand } from './render/command.js'

export const commands: Record<string, AnyCommand> = {
  render: renderCommand,
}

/** Other names a command answers to. */
export const aliases: Record<string, string> = {}

export function findCommand(name: string): AnyCommand | undefined {
  return commands[aliases[name] ?? name]
}
