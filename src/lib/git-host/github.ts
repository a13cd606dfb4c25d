/** GitHub's REST API through Octokit (`@actions/github`), loaded only when a call is made. */
import { errorMessage } from '../errors.js'
import { GitHostApiError } from './host.js'

/** Octokit for one GitHub repository (`owner/name`, the last two parts of `project`). */
export async function githubRepository(apiUrl: string, token: string, project: string) {
  const [owner, repo] = project.split('/').slice(-2)
  // Loaded on demand: Octokit is most of a bundle and only pull requests and commit statuses need it.
  const { getOctokit } = await import('@actions/github')
  return { octokit: getOctokit(token, { baseUrl: apiUrl }), owner, repo }
}

/** Runs one Octokit call; a failure becomes a `GitHostApiError` naming the call and the status. */
export async function githubCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    const status = (error as { status?: unknown }).status
    const code = typeof status === 'number' ? status : undefined
    throw new GitHostApiError(
      `GitHub API ${what}: ${code !== undefined ? `${code} ` : ''}${errorMessage(error)}`,
      code,
    )
  }
}
