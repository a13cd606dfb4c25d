/**
 * Opening or updating the one pull request (GitHub) or merge request (GitLab) of a gitops branch. A newer
 * release force-updates the same branch and so the same request: an old one can never be merged over a
 * newer release.
 */
import type { Logger } from '../log.js'
import { githubCall, githubRepository } from './github.js'
import { gitlabCall } from './gitlab.js'
import type { GitHostApi } from './host.js'

export interface PullRequestApi extends GitHostApi {
  /** `owner/name` (GitHub) or the project path (GitLab). */
  project: string
}

export interface PullRequestSpec {
  head: string
  base: string
  title: string
  body: string
}

/** Opens the request, or updates the open one from the same branch; returns its web URL. */
export async function openPullRequest(
  api: PullRequestApi,
  spec: PullRequestSpec,
  log: Logger,
): Promise<string> {
  return api.host === 'gitlab'
    ? gitlabMergeRequest(api, spec, log)
    : githubPullRequest(api, spec, log)
}

async function githubPullRequest(
  api: PullRequestApi,
  spec: PullRequestSpec,
  log: Logger,
): Promise<string> {
  const { octokit, owner, repo } = await githubRepository(api.apiUrl, api.token, api.project)
  const open = await githubCall('list pull requests', () =>
    octokit.rest.pulls.list({
      owner,
      repo,
      head: `${owner}:${spec.head}`,
      base: spec.base,
      state: 'open',
    }),
  )
  const existing = open.data[0]
  if (existing) {
    await githubCall(`update pull request #${existing.number}`, () =>
      octokit.rest.pulls.update({
        owner,
        repo,
        pull_number: existing.number,
        title: spec.title,
        body: spec.body,
      }),
    )
    log.info(`Updated pull request #${existing.number}: ${existing.html_url}`)
    return existing.html_url
  }
  const created = await githubCall('create a pull request', () =>
    octokit.rest.pulls.create({
      owner,
      repo,
      head: spec.head,
      base: spec.base,
      title: spec.title,
      body: spec.body,
    }),
  )
  log.info(`Opened pull request #${created.data.number}: ${created.data.html_url}`)
  return created.data.html_url
}

async function gitlabMergeRequest(
  api: PullRequestApi,
  spec: PullRequestSpec,
  log: Logger,
): Promise<string> {
  const base = `/projects/${encodeURIComponent(api.project)}/merge_requests`
  type MergeRequest = { iid: number; web_url: string }
  const call = <T>(method: string, path: string, body?: object) =>
    gitlabCall<T>(api, method, path, { body })
  const query = new URLSearchParams({
    source_branch: spec.head,
    target_branch: spec.base,
    state: 'opened',
  })
  const open = await call<MergeRequest[]>('GET', `${base}?${query}`)
  const fields = { title: spec.title, description: spec.body }
  if (open.length > 0) {
    const mr = await call<MergeRequest>('PUT', `${base}/${open[0].iid}`, fields)
    log.info(`Updated merge request !${mr.iid}: ${mr.web_url}`)
    return mr.web_url
  }
  const mr = await call<MergeRequest>('POST', base, {
    ...fields,
    source_branch: spec.head,
    target_branch: spec.base,
    remove_source_branch: true,
  })
  log.info(`Opened merge request !${mr.iid}: ${mr.web_url}`)
  return mr.web_url
}
