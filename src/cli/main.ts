/**
 * `gitops-actions <command> [--<input> value]…`: the actions as a command-line tool, for GitLab CI and
 * terminals. Outputs are printed as `key=value` lines and, with `--dotenv FILE`, written there too (for
 * GitLab's `artifacts:reports:dotenv`). Logs go to stderr, so stdout holds only outputs.
 */
import { promises as fs } from 'node:fs'
import { aliases, commands, findCommand } from '../actions/commands.js'
import { specs, type CommandSpec } from '../actions/specs.generated.js'
import { ConfigurationError, errorMessage } from '../lib/errors.js'
import { Inputs } from '../lib/inputs.js'
import { consoleLogger } from '../lib/log.js'
import { envName, parseArgs } from './args.js'

const USAGE = 2

function mainHelp(): string {
  const lines = [
    'Usage: gitops-actions <command> [--<input> value]... [--dotenv FILE]',
    '',
    'Commands:',
  ]
  for (const name of Object.keys(commands)) {
    const alias = Object.entries(aliases).find(([, target]) => target === name)?.[0]
    lines.push(`  ${(name + (alias ? ` (${alias})` : '')).padEnd(24)} ${specs[name].description}`)
  }
  lines.push('', "Run 'gitops-actions <command> --help' for a command's inputs.")
  lines.push('Every input can also be set as GITOPS_<INPUT> (e.g. GITOPS_OUTPUT_DIR).')
  return lines.join('\n')
}

function commandHelp(name: string, spec: CommandSpec): string {
  const lines = [
    `Usage: gitops-actions ${name} [--<input> value]... [--dotenv FILE]`,
    '',
    spec.description,
    '',
  ]
  lines.push('Inputs:')
  for (const [input, s] of Object.entries(spec.inputs)) {
    const extra = [
      s.required ? 'required' : '',
      s.default ? `default: ${s.default}` : '',
      envName(input),
    ]
      .filter(Boolean)
      .join('; ')
    lines.push(`  --${input}`, `      ${s.description.replace(/\s+/g, ' ').trim()} (${extra})`)
  }
  lines.push('', 'Outputs (printed as key=value):')
  for (const [output, s] of Object.entries(spec.outputs)) {
    lines.push(`  ${output.padEnd(20)} ${s.description.replace(/\s+/g, ' ').trim()}`)
  }
  lines.push(
    '',
    '  --dotenv FILE        also write the outputs to FILE (GitLab artifacts:reports:dotenv)',
  )
  return lines.join('\n')
}

/** The inputs that are true/false (their default says so): the only flags that may stand alone. */
export function booleanInputs(spec: CommandSpec): Set<string> {
  return new Set(
    Object.entries(spec.inputs)
      .filter(([, s]) => s.default === 'true' || s.default === 'false')
      .map(([name]) => name),
  )
}

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
  const spec = specs[command.name]
  let parsed
  try {
    // Positions in messages count from the command word, as the user typed them.
    parsed = parseArgs(rest, new Set(Object.keys(spec.inputs)), booleanInputs(spec), 2)
  } catch (error) {
    process.stderr.write(`gitops-actions ${command.name}: ${errorMessage(error)}\n`)
    return USAGE
  }
  if (parsed.help) {
    process.stdout.write(`${commandHelp(command.name, spec)}\n`)
    return 0
  }
  const log = consoleLogger({ debug: env.GITOPS_DEBUG === 'true' || env.RUNNER_DEBUG === '1' })
  const secrets: string[] = []
  const defaults = Object.fromEntries(Object.entries(spec.inputs).map(([k, v]) => [k, v.default]))
  const inputs = new Inputs(
    {
      get: (input) => parsed.values.get(input) ?? env[envName(input)],
      mask: (s) => secrets.push(s),
    },
    defaults,
  )
  try {
    const options: unknown = command.getInputs(inputs)
    const result: unknown = await command.run(options, log)
    const outputs = command.outputs(result)
    const lines = Object.entries(outputs).map(([k, v]) => `${k}=${v.replace(/\n/g, '\\n')}`)
    process.stdout.write(lines.map((l) => `${l}\n`).join(''))
    if (parsed.dotenv) {
      await fs.writeFile(parsed.dotenv, lines.map((l) => `${l}\n`).join(''))
    }
    return 0
  } catch (error) {
    let message = errorMessage(error)
    for (const s of secrets) message = message.replaceAll(s, '***')
    process.stderr.write(`gitops-actions ${command.name}: ${message}\n`)
    if (
      !(error instanceof ConfigurationError) &&
      error instanceof Error &&
      env.GITOPS_DEBUG === 'true'
    ) {
      process.stderr.write(`${error.stack}\n`)
    }
    return 1
  }
}
