/**
 * Commit statuses: pending when a unit's new content is applied, then success or failure with its health,
 * on the gitops commit and on the source commit that `release.json` names. Context
 * `gitops/<cluster>/<env>/<app>`, so a source repo's commit shows where it runs and whether it is healthy.
 */
import type { StatusState } from '../../lib/git-host/index.js'
import type { Logger } from '../../lib/log.js'
import { sendCommitStatuses, type StatusTarget } from '../../lib/notify/index.js'
import type { UnitOutcome } from '../cycle.js'
import { appOf } from './transitions.js'

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
    const version = o.release?.version ? ` ${o.release.version}` : ''
    const description = (
      state === 'pending'
        ? `${app}${version}: applied, waiting for health`
        : state === 'success'
          ? `${app}${version}: applied and healthy`
          : `${app}${version}: ${o.error ?? 'failed'}`
    ).slice(0, 140)
    const targets: StatusTarget[] = [{ repo: this.gitUrl, sha: o.commit, what: 'gitops commit' }]
    if (o.release?.sourceRepo && o.release.sourceCommit)
      targets.push({
        repo: o.release.sourceRepo,
        sha: o.release.sourceCommit,
        what: 'source commit',
      })
    const { provider, apiUrl, token } = this.api
    await sendCommitStatuses(
      { host: provider, apiUrl, token },
      targets,
      { state, context: `gitops/${this.cluster}/${env}/${app}`, description },
      `unit=${o.unit}`,
      this.log,
    )
  }
}
