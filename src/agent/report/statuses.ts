/**
 * Commit statuses: pending when a unit's new content is applied, then success or failure with its health,
 * on the gitops commit and on the source commit that `release.json` names. Context
 * `gitops/<cluster>/<env>/<app>`, so a source repo's commit shows where it runs and whether it is healthy.
 */
import { errorMessage } from '../../lib/errors.js'
import { gitlabCall } from '../../lib/gitlab-api.js'
import { githubRepository, projectOf } from '../../lib/gitops/pull-request.js'
import type { Logger } from '../../lib/log.js'
import type { UnitOutcome } from '../cycle.js'
import { appOf } from './transitions.js'

/** A git object id, abbreviated or whole (SHA-1 or SHA-256). */
const COMMIT_ID = /^[0-9a-f]{7,64}$/i

/** The project path of a repository URL, with no `.` or `..` segment (a URL would resolve them). */
function checkedProject(repo: string): string {
  const project = projectOf(repo)
  if (project.split('/').some((part) => part === '.' || part === '..'))
    throw new Error('dot segment in the project path')
  return project
}

export type StatusState = 'pending' | 'success' | 'failure'

export interface StatusApi {
  provider: 'github' | 'gitlab'
  apiUrl: string
  token: string
}

export class CommitStatuses {
  constructor(
    private readonly api: StatusApi,
    /** The gitops repo's URL. */
    private readonly gitUrl: string,
    private readonly cluster: string,
    private readonly log: Logger,
  ) {}

  /** Sets the status on both commits; failures are logged and never fail the sync. */
  async set(o: UnitOutcome, state: StatusState): Promise<void> {
    const { env, app } = appOf(o)
    const context = `gitops/${this.cluster}/${env}/${app}`
    const version = o.release?.version ? ` ${o.release.version}` : ''
    const description = (
      state === 'pending'
        ? `${app}${version}: applied, waiting for health`
        : state === 'success'
          ? `${app}${version}: applied and healthy`
          : `${app}${version}: ${o.error ?? 'failed'}`
    ).slice(0, 140)
    const targets: { repo: string; sha: string; what: string }[] = [
      { repo: this.gitUrl, sha: o.commit, what: 'gitops commit' },
    ]
    if (o.release?.sourceRepo && o.release.sourceCommit)
      targets.push({
        repo: o.release.sourceRepo,
        sha: o.release.sourceCommit,
        what: 'source commit',
      })
    await Promise.all(
      targets.map(async ({ repo, sha, what }) => {
        // Both come from git (release.json): a value that is not a commit id or a project path is never
        // put into an API path, and never logged (it may be crafted to be one).
        if (!COMMIT_ID.test(sha)) {
          this.log.warn(
            `event=status-skipped unit=${o.unit}: the ${what} is not a commit id (7 to 64 hex digits); no status is sent for it`,
          )
          return
        }
        let project: string
        try {
          project = checkedProject(repo)
        } catch {
          this.log.warn(
            `event=status-skipped unit=${o.unit}: the ${what}'s repository is not a project path; no status is sent for it`,
          )
          return
        }
        try {
          await (this.api.provider === 'gitlab'
            ? this.gitlab(project, sha, state, context, description)
            : this.github(project, sha, state, context, description))
          this.log.debug(`event=status ${project}@${sha.slice(0, 12)} ${context}=${state}`)
        } catch (error) {
          this.log.warn(
            `event=status-error ${project}@${sha.slice(0, 12)} ${context}=${state}: ${errorMessage(error)}`,
          )
        }
      }),
    )
  }

  private async github(
    project: string,
    sha: string,
    state: StatusState,
    context: string,
    description: string,
  ): Promise<void> {
    const { octokit, owner, repo } = await githubRepository(
      this.api.apiUrl,
      this.api.token,
      project,
    )
    // A git host that does not answer must not hold up the sync.
    await octokit.rest.repos.createCommitStatus({
      owner,
      repo,
      sha,
      state,
      context,
      description,
      request: { signal: AbortSignal.timeout(10_000) },
    })
  }

  private async gitlab(
    project: string,
    sha: string,
    state: StatusState,
    context: string,
    description: string,
  ): Promise<void> {
    const path = ['projects', project, 'statuses', sha].map(encodeURIComponent).join('/')
    await gitlabCall(this.api, 'POST', `/${path}`, {
      body: { state: state === 'failure' ? 'failed' : state, name: context, description },
      timeoutMs: 10_000,
    })
  }
}
