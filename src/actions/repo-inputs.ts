/** The inputs every command that writes to the gitops repo shares: where, how to log in, how to commit. */
import { ConfigurationError } from '../lib/errors.js'
import type { GitAuth, Identity } from '../lib/git/git.js'
import { ciContext, repositoryUrl } from '../lib/gitops/ci-env.js'
import { projectOf, type PullRequestApi } from '../lib/gitops/pull-request.js'
import type { Inputs } from '../lib/inputs.js'

export interface RepoInputs {
  repository: string
  branch?: string
  auth: GitAuth
  author: Identity
  mode: 'push' | 'pull-request'
  maxAttempts: number
  dryRun: boolean
  pullRequest?: PullRequestApi
}

export function readRepoInputs(inputs: Inputs, env: NodeJS.ProcessEnv = process.env): RepoInputs {
  const token = inputs.secret('token')
  const sshKey = inputs.secret('ssh-key')
  const ci = ciContext(env)
  const given = inputs.required('repository')
  const host = inputs.choice('git-host', ['github', 'gitlab'] as const) ?? ci.host
  const mode = inputs.choice('mode', ['push', 'pull-request'] as const) ?? 'push'
  const maxAttempts = Number(inputs.optional('max-attempts') ?? '30')
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ConfigurationError(`input 'max-attempts' must be a whole number of at least 1`)
  }
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
    auth: { token, tokenUser, sshKey, knownHosts: inputs.optional('known-hosts') },
    author: { name: inputs.required('author-name'), email: inputs.required('author-email') },
    mode,
    maxAttempts,
    dryRun: inputs.boolean('dry-run'),
    pullRequest,
  }
}
