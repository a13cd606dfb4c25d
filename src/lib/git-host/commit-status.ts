/** Setting one commit status on GitHub or GitLab. */
import { githubCall, githubRepository } from './github.js'
import { gitlabCall } from './gitlab.js'
import type { GitHostApi } from './host.js'

export type StatusState = 'pending' | 'success' | 'failure'

export interface CommitStatus {
  state: StatusState
  /** `gitops/<cluster>/<env>/<app>`: one status per context, replaced by the next. */
  context: string
  /** At most 140 characters (GitHub's limit). */
  description: string
}

/** A git host that does not answer within this long must not hold up the caller. */
const STATUS_TIMEOUT_MS = 10_000

/** Sets `status` on commit `sha` of `project` (`owner/name` or a GitLab project path). */
export async function setCommitStatus(
  api: GitHostApi,
  project: string,
  sha: string,
  status: CommitStatus,
): Promise<void> {
  const { state, context, description } = status
  if (api.host === 'gitlab') {
    const path = ['projects', project, 'statuses', sha].map(encodeURIComponent).join('/')
    await gitlabCall(api, 'POST', `/${path}`, {
      body: { state: state === 'failure' ? 'failed' : state, name: context, description },
      timeoutMs: STATUS_TIMEOUT_MS,
    })
    return
  }
  const { octokit, owner, repo } = await githubRepository(api.apiUrl, api.token, project)
  await githubCall('create a commit status', () =>
    octokit.rest.repos.createCommitStatus({
      owner,
      repo,
      sha,
      state,
      context,
      description,
      request: { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) },
    }),
  )
}
