import { diffTable } from '../lib/gitops/diff.js'
import { rollback, type RollbackOptions, type RollbackResult } from '../lib/gitops/rollback.js'
import { changeOutputs, type Command } from './command.js'
import { readRepoInputs } from './repo-inputs.js'

export const rollbackCommand: Command<RollbackOptions, RollbackResult> = {
  name: 'rollback',
  getInputs: (inputs) => ({
    ...readRepoInputs(inputs),
    env: inputs.required('env'),
    app: inputs.required('app'),
    to: inputs.required('to'),
    reason: inputs.text('reason'),
    pin: inputs.boolean('pin'),
  }),
  run: rollback,
  outputs: (r) => ({
    ...changeOutputs(r),
    version: r.version,
    'rolled-back-from': r.from,
    target: r.target,
    reverted: r.reverted.join(','),
  }),
  summary: (r) =>
    [
      `### rollback: ${r.from} → ${r.version}`,
      '',
      r.commit
        ? `Commit \`${r.commit}\` restores release \`${r.target}\`.`
        : 'Nothing to roll back.',
      r.reverted.length
        ? `Reverts: ${r.reverted.map((h) => `\`${h.slice(0, 12)}\``).join(', ')}`
        : '',
      r.pullRequestUrl ? `Pull request: ${r.pullRequestUrl}` : '',
      '',
      diffTable(r.diff),
    ].join('\n'),
}
