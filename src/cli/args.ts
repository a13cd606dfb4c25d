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

/**
 * Parses flags against the inputs a command knows. `--name value`, `--name=value`; a known flag followed
 * by nothing or by another flag is `true` (for booleans such as `--allow-secrets`).
 */
export function parseArgs(argv: string[], known: Set<string>): ParsedArgs {
  const values = new Map<string, string>()
  let help = false
  let dotenv: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--help' || arg === '-h') {
      help = true
      continue
    }
    if (!arg.startsWith('--')) {
      throw new ConfigurationError(
        `unexpected argument '${arg}' (inputs are given as --name value)`,
      )
    }
    const eq = arg.indexOf('=')
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2)
    let value: string
    if (eq >= 0) {
      value = arg.slice(eq + 1)
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      value = argv[++i]
    } else {
      value = 'true'
    }
    if (name === 'dotenv') {
      dotenv = value
      continue
    }
    if (!known.has(name)) {
      throw new ConfigurationError(`unknown flag --${name}; see --help for this command's inputs`)
    }
    const previous = values.get(name)
    values.set(name, previous === undefined ? value : `${previous}\n${value}`)
  }
  return { values, help, dotenv }
}
