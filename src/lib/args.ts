/**
 * The one command-line parser, for the CLI and the agent, on `node:util`'s `parseArgs`: `--name value`,
 * `--name=value` (everything after the first `=`), and a flag given again adds a value. A flag that takes
 * a value takes the next argument whatever it looks like (an SSH key starts with `-----BEGIN`); a boolean
 * flag stands alone, meaning true, or takes a true/false word after it. `--help` or `-h` ends parsing.
 *
 * No error quotes an argument: one in the wrong place may be a secret (a key pasted after a boolean flag,
 * a token with a typo in its flag). A flag is named only when its name has a flag's shape, anything else
 * by its position on the command line.
 */
import { parseArgs } from 'node:util'
import { ConfigurationError } from './errors.js'

/** What the parser needs to know of a flag: whether it may stand alone. */
export interface FlagSpec {
  boolean?: boolean
}

export interface ParsedFlags {
  /** Each flag's values, in the order given. */
  values: Map<string, string[]>
  help: boolean
}

/** true or false for the words a boolean flag or input takes (as `@actions/core` reads them). */
export function booleanWord(value: string): boolean | undefined {
  if (value === 'true' || value === 'True' || value === 'TRUE') return true
  if (value === 'false' || value === 'False' || value === 'FALSE') return false
  return undefined
}

// Only a name of this shape is ever quoted in an error.
const FLAG_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/

/** The option is one whole argument, not a letter of a `-abc` group that parseArgs split up. */
function whole(arg: string, option: { rawName: string; value?: string; inlineValue?: boolean }) {
  return (
    arg === option.rawName ||
    (option.inlineValue === true && arg === `${option.rawName}=${option.value}`)
  )
}

/**
 * Parses `argv` against the flags there are. `firstPosition` is the position of `argv[0]` on the whole
 * command line, for messages (after a command word, 2).
 */
export function parseFlags(
  argv: readonly string[],
  flags: Readonly<Record<string, FlagSpec>>,
  firstPosition = 1,
): ParsedFlags {
  const known = (name: string): FlagSpec | undefined =>
    Object.hasOwn(flags, name) ? flags[name] : undefined
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {}
  for (const name of Object.keys(flags))
    options[name] = { type: flags[name].boolean ? 'boolean' : 'string' }
  options.help = { type: 'boolean', short: 'h' }
  // Not strict: every refusal is ours, worded so that it quotes nothing.
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  const values = new Map<string, string[]>()
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]
    const position = token.index + firstPosition
    if (token.kind === 'option' && token.name === 'help' && argv[token.index] === token.rawName)
      return { values, help: true }
    if (
      token.kind !== 'option' ||
      !token.rawName.startsWith('--') ||
      !whole(argv[token.index], token)
    ) {
      throw new ConfigurationError(
        `argument ${position} is not a flag, nor the value of one (flags are --lower-case-name VALUE; see --help)`,
      )
    }
    const name = token.name
    if (!FLAG_NAME.test(name))
      throw new ConfigurationError(`argument ${position} is an unknown flag (see --help)`)
    if (name === 'help') throw new ConfigurationError('flag --help takes no value')
    const flag = known(name)
    if (!flag) throw new ConfigurationError(`unknown flag --${name} (see --help for the flags)`)
    let value = token.value
    if (value === undefined && flag.boolean) {
      const next = tokens[t + 1]
      const word =
        next?.kind === 'positional' &&
        next.index === token.index + 1 &&
        booleanWord(next.value) !== undefined
      value = word ? next.value : 'true'
      if (word) t++
    }
    if (value === undefined)
      throw new ConfigurationError(`flag --${name} needs a value (--${name} VALUE)`)
    values.set(name, [...(values.get(name) ?? []), value])
  }
  return { values, help: false }
}
