/** The inputs every command that writes to the gitops repo shares: where, how to log in, how to commit. */
import { ConfigurationError } from '../lib/errors.js'
import { projectOf, type PullRequestApi } from '../lib/git-host/index.js'
import type { ReleaseRepoOptions } from '../lib/gitops/transaction.js'
import type { Inputs } from '../lib/inputs.js'
import { ciContext, repositoryUrl } from './ci-env.js'

/** `ssh-key`, or the content of the file `ssh-key-file` names (masked the same way); not both. */
function readSshKey(inputs: Inputs): string | undefined {
  const key = inputs.secret('ssh-key')
  if (inputs.optional('ssh-key-file') === undefined) return key
  if (key !== undefined) {
    throw new ConfigurationError('give ssh-key and ssh-key-file one at a time, not both')
  }
  return inputs.secretFile('ssh-key-file')
}

/** A positive whole number input, or its default. */
function wholeNumber(inputs: Inputs, name: string, fallback: string, unit: string): number {
  const value = Number(inputs.optional(name) ?? fallback)
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(`input '${name}' must be a whole number of ${unit}, at least 1`)
  }
  return value
}

/** The repository options of every command that writes to the gitops repo (`git-timeout` in seconds). */
export function readRepoInputs(
  inputs: Inputs,
  env: NodeJS.ProcessEnv = process.env,
): ReleaseRepoOptions {
  const token = inputs.secret('token')
  const sshKey = readSshKey(inputs)
  const ci = ciContext(env)
  const given = inputs.required('repository')
  const host = inputs.choice('git-host', ['github', 'gitlab'] as const) ?? ci.host
  const mode = inputs.choice('mode', ['push', 'pull-request'] as const) ?? 'push'
  const maxAttempts = wholeNumber(inputs, 'max-attempts', '30', 'attempts')
  const gitTimeoutMs = wholeNumber(inputs, 'git-timeout', '300', 'seconds') * 1000
  let pullRequest: PullRequestApi | undefined
  if (mode === 'pull-request') {
    if (!token)
      throw new ConfigurationError(
        "input 'token' is required in pull-request mode (for the git host's API)",
      )
    const apiUrl =
      inputs.optional('api-url') ??
      (host === 'gitlab' ? env.CI_API_V4_URL : env.GITHUB_API_URL) ??
      (host === 'gitlab' ? 'https://gitlab.com/api/v4' : 'https://api.github.com')
    pullRequest = { host, apiUrl, token, project: projectOf(given) }
  }
  const tokenUser =
    host === 'gitlab'
      ? token === env.CI_JOB_TOKEN
        ? 'gitlab-ci-token'
        : 'oauth2'
      : 'x-access-token'
  return {
    repository: repositoryUrl(given, sshKey !== undefined, ci),
    branch: inputs.optional('branch'),
    auth: { token, tokenUser, sshKey, knownHosts: inputs.text('known-hosts') },
    author: { name: inputs.required('author-name'), email: inputs.required('author-email') },
    mode,
    maxAttempts,
    dryRun: inputs.boolean('dry-run'),
    pullRequest,
    gitTimeoutMs,
    tempDir: ci.tempDir,
  }
}
