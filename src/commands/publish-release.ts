import { ciContext } from './ci-env.js'
import { diffTable } from '../lib/gitops/diff.js'
import { publishRelease, type PublishOptions, type PublishResult } from '../lib/gitops/publish.js'
import { changeOutputs, type Command } from './command.js'
import { readRepoInputs } from './repo-inputs.js'

export const publishReleaseCommand: Command<PublishOptions, PublishResult> = {
  name: 'publish-release',
  getInputs: (inputs) => {
    const ci = ciContext()
    const sourceCommit = inputs.optional('source-commit') ?? ci.sourceCommit
    return {
      ...readRepoInputs(inputs),
      env: inputs.required('env'),
      app: inputs.required('app'),
      manifests: inputs.optional('manifests'),
      version: inputs.optional('version'),
      source: {
        repo: inputs.optional('source-repo') ?? ci.sourceRepo,
        commit: sourceCommit,
        commitTime: inputs.optional('source-commit-time'),
        run: inputs.optional('source-run') ?? ci.sourceRun,
      },
      releasedBy: inputs.optional('released-by') ?? ci.actor,
      kustomizeVersion: inputs.optional('kustomize-version'),
      message: inputs.text('message'),
      fromEnv: inputs.optional('from-env'),
      force: inputs.boolean('force'),
      allowSecrets: inputs.boolean('allow-secrets'),
      retire: inputs.boolean('retire'),
    }
  },
  run: publishRelease,
  outputs: (r) => ({
    ...changeOutputs(r),
    version: r.version,
    digest: r.digest,
    'objects-added': r.diff.added.join(','),
    'objects-changed': r.diff.changed.join(','),
    'objects-removed': r.diff.removed.join(','),
  }),
  summary: (r) =>
    [
      `### publish-release: \`${r.path}\` ${r.changed ? `→ ${r.version}` : `unchanged (${r.version})`}`,
      '',
      r.commit
        ? `Commit \`${r.commit}\` after ${r.attempts} attempt(s).`
        : 'No commit: the release is already in place.',
      r.pullRequestUrl ? `Pull request: ${r.pullRequestUrl}` : '',
      '',
      diffTable(r.diff),
    ].join('\n'),
}
