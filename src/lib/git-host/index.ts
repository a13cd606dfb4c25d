/** The git host's API: who the host is, pull and merge requests, commit statuses. */
export { setCommitStatus, type CommitStatus, type StatusState } from './commit-status.js'
export {
  defaultApiUrl,
  gitHostOf,
  GitHostApiError,
  projectOf,
  type GitHost,
  type GitHostApi,
} from './host.js'
export { openPullRequest, type PullRequestApi, type PullRequestSpec } from './pull-request.js'
