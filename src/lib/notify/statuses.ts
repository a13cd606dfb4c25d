/**
 * Commit statuses on the git host, for commits named by data from git (a `release.json`): a value that
 * is not a commit id or a project path is never put into an API path, and never logged (it may be
 * crafted to be one). Failures are logged and never fail the caller.
 */
import { errorMessage } from '../errors.js'
import {
  projectOf,
  setCommitStatus,
  type CommitStatus,
  type GitHostApi,
} from '../git-host/index.js'
import type { Logger } from '../log.js'

/** A commit to set a status on: its repository URL, its id, and what it is, for logs. */
export interface StatusTarget {
  repo: string
  sha: string
  /** `gitops commit`, `source commit`. */
  what: string
}

/** A git object id, abbreviated or whole (SHA-1 or SHA-256). */
const COMMIT_ID = /^[0-9a-f]{7,64}$/i

/** The project path of a repository URL, with no `.` or `..` segment (a URL would resolve them). */
function checkedProject(repo: string): string {
  const project = projectOf(repo)
  if (project.split('/').some((part) => part === '.' || part === '..'))
    throw new Error('dot segment in the project path')
  return project
}

/** Sets `status` on every target at once; `about` names the cause in logs (`unit=…`). */
export async function sendCommitStatuses(
  api: GitHostApi,
  targets: StatusTarget[],
  status: CommitStatus,
  about: string,
  log: Logger,
): Promise<void> {
  const { context, state } = status
  await Promise.all(
    targets.map(async ({ repo, sha, what }) => {
      if (!COMMIT_ID.test(sha)) {
        log.warn(
          `event=status-skipped ${about}: the ${what} is not a commit id (7 to 64 hex digits); no status is sent for it`,
        )
        return
      }
      let project: string
      try {
        project = checkedProject(repo)
      } catch {
        log.warn(
          `event=status-skipped ${about}: the ${what}'s repository is not a project path; no status is sent for it`,
        )
        return
      }
      try {
        await setCommitStatus(api, project, sha, status)
        log.debug(`event=status ${project}@${sha.slice(0, 12)} ${context}=${state}`)
      } catch (error) {
        log.warn(
          `event=status-error ${project}@${sha.slice(0, 12)} ${context}=${state}: ${errorMessage(error)}`,
        )
      }
    }),
  )
}
