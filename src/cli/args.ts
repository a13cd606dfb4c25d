/**
 * Command-line arguments: `gitops-actions <command> --<input> value …`, with `GITOPS_<INPUT>` environment
 * variables as a fallback (`output-dir` → `GITOPS_OUTPUT_DIR`). A flag given twice builds a list.
 */
import { ConfigurationError } from '../lib/errors.js'

export interface ParsedArgs {
  values: Map<string, string>
  help: boolean
  dotenv?: string
}

/** The environment variable that feeds an input. */
export function envName(input: string): string {
  return `GITOPS_${input.toUpperCase().replace(/-/g, '_')}`
}

// Only a name of this shape is ever quoted in an error: anything else may be a secret given in the
// wrong place (a key pasted after a boolean flag, a token with a typo in its flag).
const SAFE_FLAG = /^--[a-z0-9][a-z0-9-]{0,62}$/
const BOOLEAN_WORDS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE'])

/**
 * Parses flags against the inputs a command knows. `--name value` or `--name=value`. A flag that takes
 * a value takes the next argument whatever it looks like (an SSH key starts with `-----BEGIN`); only
 * `booleans` may stand alone, meaning true, or take a `true`/`false` word after them. Errors name the
 * flag or the argument's position, never a value.
 */
export function parseArgs(
  argv: string[],
  known: Set<string>,
  booleans: ReadonlySet<string> = new Set(),
  /** The position of argv[0] on the whole command line, for messages (the command word is 1). */
  firstPosition = 1,
): ParsedArgs {
  const values = new Map<string, string>()
  let help = false
  let dotenv: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const position = i + firstPosition
    if (arg === '--help' || arg === '-h') {
      help = true
      continue
    }
    const eq = arg.indexOf('=')
    const flag = eq >= 0 ? arg.slice(0, eq) : arg
    if (!SAFE_FLAG.test(flag)) {
      throw new ConfigurationError(
        `argument ${position} is not a flag (inputs are given as --lower-case-name value; see --help)`,
      )
    }
    const name = flag.slice(2)
    if (name !== 'dotenv' && !known.has(name)) {
      throw new ConfigurationError(`unknown flag ${flag}; see --help for this command's inputs`)
    }
    let value: string
    if (eq >= 0) {
      value = arg.slice(eq + 1)
    } else if (booleans.has(name)) {
      value = i + 1 < argv.length && BOOLEAN_WORDS.has(argv[i + 1]) ? argv[++i] : 'true'
    } else if (i + 1 < argv.length) {
      value = argv[++i]
    } else {
      throw new ConfigurationError(`flag ${flag} needs a value (--${name} VALUE)`)
    }
    if (name === 'dotenv') {
      dotenv = value
      continue
    }
    const previous = values.get(name)
    values.set(name, previous === undefined ? value : `${previous}\n${value}`)
  }
  return { values, help, dotenv }
}
