/**
 * Command-line arguments: `gitops-actions <command> --<input> value …`, with `GITOPS_<INPUT>` environment
 * variables as a fallback (`output-dir` → `GITOPS_OUTPUT_DIR`). A flag given twice builds a list.
 */
import { parseFlags, type FlagSpec } from '../commands/adapter.js'

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
 * Parses flags against the inputs a command knows, and `--dotenv FILE`. Only `booleans` may stand alone
 * (see `parseFlags`); a repeated input's values are joined a line each, as a list input reads them.
 */
export function parseArgs(
  argv: string[],
  known: Set<string>,
  booleans: ReadonlySet<string> = new Set(),
  /** The position of argv[0] on the whole command line, for messages (the command word is 1). */
  firstPosition = 1,
): ParsedArgs {
  const flags: Record<string, FlagSpec> = { dotenv: {} }
  for (const name of known) flags[name] = { boolean: booleans.has(name) }
  const parsed = parseFlags(argv, flags, firstPosition)
  const values = new Map<string, string>()
  for (const [name, given] of parsed.values)
    if (name !== 'dotenv') values.set(name, given.join('\n'))
  return { values, help: parsed.help, dotenv: parsed.values.get('dotenv')?.at(-1) }
}
