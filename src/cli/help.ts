/** The CLI's --help texts, from each command's action.yml. */
import { aliases, commands } from '../commands/registry.js'
import { specs, type CommandSpec } from '../commands/specs.generated.js'
import { envName } from './args.js'

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim()

export function mainHelp(): string {
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

export function commandHelp(name: string, spec: CommandSpec): string {
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
    lines.push(`  --${input}`, `      ${oneLine(s.description)} (${extra})`)
  }
  lines.push('', 'Outputs (printed as key=value):')
  for (const [output, s] of Object.entries(spec.outputs)) {
    lines.push(`  ${output.padEnd(20)} ${oneLine(s.description)}`)
  }
  lines.push(
    '',
    '  --dotenv FILE        also write the outputs to FILE (GitLab artifacts:reports:dotenv)',
  )
  return lines.join('\n')
}
