import { unpin, type UnpinOptions, type UnpinResult } from '../lib/gitops/unpin.js'
import type { Command } from './command.js'
import { readRepoInputs } from './repo-inputs.js'

export const unpinCommand: Command<UnpinOptions, UnpinResult> = {
  name: 'unpin',
  getInputs: (inputs) => ({
    ...readRepoInputs(inputs),
    env: inputs.required('env'),
    app: inputs.required('app'),
  }),
  run: unpin,
  outputs: (r) => ({ commit: r.commit ?? '', changed: String(r.changed), version: r.version }),
  summary: (r) =>
    `### unpin: ${r.changed ? `unpinned at ${r.version}` : `not pinned (${r.version})`}\n`,
}
