/**
 * Defaults that come from the CI system running the step: GitHub Actions (`GITHUB_*`, `RUNNER_TEMP`) or
 * GitLab CI (`CI_*`). The commands read the environment here and nowhere else, and pass on what the
 * library needs.
 */
export interface CiContext {
  sourceRepo?: string
  sourceCommit?: string
  sourceRun?: string
  actor?: string
  /** The git host's web URL (`https://github.com`), for `owner/name` repositories. */
  serverUrl?: string
  host: 'github' | 'gitlab'
  /** The runner's temp folder (emptied after each job), for clones; unset: the system's. */
  tempDir?: string
}

export function ciContext(env: NodeJS.ProcessEnv = process.env): CiContext {
  const tempDir = env.RUNNER_TEMP || undefined
  if (env.GITLAB_CI === 'true' || env.CI_SERVER_URL) {
    return {
      host: 'gitlab',
      tempDir,
      sourceRepo: env.CI_PROJECT_URL,
      sourceCommit: env.CI_COMMIT_SHA,
      sourceRun: env.CI_PIPELINE_URL ?? env.CI_JOB_URL,
      actor: env.GITLAB_USER_LOGIN,
      serverUrl: env.CI_SERVER_URL,
    }
  }
  const server = env.GITHUB_SERVER_URL ?? (env.GITHUB_ACTIONS ? 'https://github.com' : undefined)
  const repo = env.GITHUB_REPOSITORY
  return {
    host: 'github',
    tempDir,
    sourceRepo: server && repo ? `${server}/${repo}` : repo,
    sourceCommit: env.GITHUB_SHA,
    sourceRun:
      server && repo && env.GITHUB_RUN_ID
        ? `${server}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined,
    actor: env.GITHUB_ACTOR,
    serverUrl: server,
  }
}

/**
 * The clone URL of `repository`: a URL or local path as given, or `owner/name` on the current git host
 * (over SSH when an SSH key is used, else HTTPS).
 */
export function repositoryUrl(
  repository: string,
  useSsh: boolean,
  ci: CiContext = ciContext(),
): string {
  if (!/^[\w.-]+\/[\w.-]+(\/[\w.-]+)*$/.test(repository) || repository.startsWith('.'))
    return repository
  const server = ci.serverUrl ?? 'https://github.com'
  const host = new URL(server).host
  return useSsh ? `git@${host}:${repository}.git` : `${server.replace(/\/$/, '')}/${repository}.git`
}
