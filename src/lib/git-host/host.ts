/** Who the git host is (GitHub or GitLab), where its API is, and the one error its API calls throw. */
import { ConfigurationError } from '../errors.js'
import { hostOf } from '../git/remote.js'

export type GitHost = 'github' | 'gitlab'

/** One git host's REST API and the token to call it with. */
export interface GitHostApi {
  host: GitHost
  /** `https://api.github.com`, a GitHub Enterprise `…/api/v3`, or GitLab's `…/api/v4`. */
  apiUrl: string
  token: string
}

/** A call to a git host's API that failed: which call (without its query), the status, what it said. */
export class GitHostApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the host answered. */
    readonly status?: number,
  ) {
    super(message)
    this.name = 'GitHostApiError'
  }
}

/** The host a remote URL names: GitLab when its host name says gitlab, else GitHub. */
export function gitHostOf(gitUrl: string): GitHost {
  return hostOf(gitUrl)?.includes('gitlab') ? 'gitlab' : 'github'
}

/**
 * The API of the host that serves `gitUrl`: `https://<host>/api/v4` for GitLab, `api.github.com` for
 * github.com (or a local remote), `https://<host>/api/v3` for GitHub Enterprise.
 */
export function defaultApiUrl(host: GitHost, gitUrl: string): string {
  const name = hostOf(gitUrl)
  if (host === 'gitlab') return `https://${name ?? 'gitlab.com'}/api/v4`
  return !name || name === 'github.com' ? 'https://api.github.com' : `https://${name}/api/v3`
}

/** The `owner/name` (GitHub) or project path (GitLab) of a repository URL or `owner/name` string. */
export function projectOf(repository: string): string {
  const path = repository
    .replace(/^file:\/\//i, '')
    .replace(/^[a-z+]+:\/\/[^/]+\//i, '')
    .replace(/^[^@/]+@[^:/]+:/, '')
    .replace(/\.git$/, '')
    .replace(/^\/+|\/+$/g, '')
  if (!/^[\w.-]+(\/[\w.-]+)+$/.test(path)) {
    throw new ConfigurationError(
      `cannot tell the project of '${repository}' for the pull request API`,
    )
  }
  return path
}
