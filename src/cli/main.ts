/**
 * `gitops-actions <command> [--<input> value]…`: the actions as a command-line tool, for GitLab CI and
 * terminals. Outputs are printed as `key=value` lines and, with `--dotenv FILE`, written there too (for
 * GitLab's `artifacts:reports:dotenv`). Logs go to stderr, so stdout holds only outputs.
 */
import { promises as fs } from 'node:fs'
import { booleanInputs, consoleLogger, failure, runCommand, specOf } from '../commands/adapter.js'
import { findCommand } from '../commands/registry.js'
import { envName, parseArgs, type ParsedArgs } from './args.js'
import { commandHelp, mainHelp } from './help.js'

const USAGE = 2

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[], env = process.env): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainHelp()}\n`)
    return name ? 0 : USAGE
  }
  const command = findCommand(name)
  if (!command) {
    // The word is quoted only when it looks like a command name: it may be a misplaced secret.
    const shown = /^[a-z][a-z0-9-]{0,40}$/.test(name) ? `'${name}'` : '(argument 1)'
    process.stderr.write(`gitops-actions: unknown command ${shown}\n\n${mainHelp()}\n`)
    return USAGE
  }
  const spec = specOf(command)
  let parsed: ParsedArgs
  try {
    // Positions in messages count from the command word, as the user typed them.
    parsed = parseArgs(rest, new Set(Object.keys(spec.inputs)), booleanInputs(spec), 2)
  } catch (error) {
    process.stderr.write(`gitops-actions ${command.name}: ${failure(error).message}\n`)
    return USAGE
  }
  if (parsed.help) {
    process.stdout.write(`${commandHelp(command.name, spec)}\n`)
    return 0
  }
  const debug = env.GITOPS_DEBUG === 'true'
  const secrets: string[] = []
  try {
    const { outputs } = await runCommand(
      command,
      {
        get: (input) => parsed.values.get(input) ?? env[envName(input)],
        mask: (s) => secrets.push(s),
      },
      consoleLogger({ debug: debug || env.RUNNER_DEBUG === '1' }),
    )
    const lines = Object.entries(outputs).map(([k, v]) => `${k}=${v.replace(/\n/g, '\\n')}\n`)
    process.stdout.write(lines.join(''))
    if (parsed.dotenv) await fs.writeFile(parsed.dotenv, lines.join(''))
    return 0
  } catch (error) {
    const { message, stack } = failure(error)
    const redacted = secrets.reduce((text, s) => text.replaceAll(s, '***'), message)
    process.stderr.write(`gitops-actions ${command.name}: ${redacted}\n`)
    if (stack && debug) process.stderr.write(`${stack}\n`)
    return 1
  }
}
