/** The git host's API: who the host is, pull and merge requests, commit statuses, deploy keys. */
export { setCommitStatus, type CommitStatus, type StatusState } from './commit-status.js'
export {
  createDeployKey,
  deleteDeployKey,
  ensureDeployKey,
  findDeployKey,
  listDeployKeys,
  samePublicKey,
  type DeployKey,
  type DeployKeySpec,
} from './deploy-keys.js'
export {
  defaultApiUrl,
  gitHostOf,
  GitHostApiError,
  projectOf,
  type GitHost,
  type GitHostApi,
} from './host.js'
export { openPullRequest, type PullRequestApi, type PullRequestSpec } from './pull-request.js'
