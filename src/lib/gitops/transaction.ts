/**
 * One change to the gitops repo, made safely when many pipelines push at once: clone shallowly, let the
 * caller stage its change, commit, push. A push rejected because the branch moved fetches the new tip,
 * resets to it and asks the caller to apply the change again there (a shallow clone is never rebased:
 * git would replay the shallow boundary and report false conflicts), with bounded, jittered backoff.
 * Nothing is ever force-pushed to the target branch; in pull-request mode the change goes to the tool's
 * own branch with a lease instead.
 */
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Backoff } from '../backoff.js'
import { sleep } from '../concurrency.js'
import { ConfigurationError } from '../errors.js'
import { GitClient, PushRejectedError, type GitAuth, type Identity } from '../git/git.js'
import { redactUrl } from '../git/remote.js'
import type { Logger } from '../log.js'
import { registerTempDir } from '../process/cleanup.js'
import { openPullRequest, type PullRequestApi } from '../git-host/index.js'

export interface RepoOptions {
  /** The gitops repo's URL. */
  url: string
  /** Target branch; default: the remote's default branch. */
  branch?: string
  auth: GitAuth
  author: Identity
  /** `push` to the branch, or `pull-request`: push to `prBranch` and let the caller open a PR. */
  mode: 'push' | 'pull-request'
  /** The tool's own branch for pull-request mode (`gitops/<env>/<app>`). */
  prBranch?: string
  /** Push attempts before giving up (each rejected push fetches and re-applies). */
  maxAttempts: number
  /** Commit locally but push nothing. */
  dryRun: boolean
  /** Clone depth (0: full history). */
  depth?: number
  /** Each git command is killed (with its process group) after this long; none when unset. */
  gitTimeoutMs?: number
  /** Where the clone goes (the CI runner's temp folder); default: the system's. */
  tempDir?: string
}

/** What the caller's change produced on one attempt. */
export type Planned<T> = { commit: false; result: T } | { commit: true; message: string; result: T }

export interface TransactionResult<T> {
  result: T
  changed: boolean
  commit?: string
  /** The branch the commit was pushed to. */
  pushedTo?: string
  /** The target branch. */
  branch: string
  attempts: number
}

/** What a command that writes to the gitops repo reports besides its own result. */
export interface ChangeOutcome {
  commit?: string
  changed: boolean
  attempts: number
  /** The pull (or merge) request, in pull-request mode. */
  pullRequestUrl?: string
}

/** A transaction's result with its commit, change, attempts and pull request beside it. */
export function outcome<T>(
  tx: TransactionResult<T> & { pullRequestUrl?: string },
): T & ChangeOutcome {
  const { commit, changed, attempts, pullRequestUrl } = tx
  return { ...tx.result, commit, changed, attempts, pullRequestUrl }
}

/**
 * Runs `apply` on a fresh clone of the target branch and pushes what it staged; on a rejected push, again
 * on the new tip. `apply` must stage the full change from the work tree's current state every time it is
 * called (it may be called once per attempt) and may throw to refuse (e.g. a downgrade).
 */
export async function commitToGitops<T>(
  options: RepoOptions,
  log: Logger,
  apply: (git: GitClient, attempt: number) => Promise<Planned<T>>,
): Promise<TransactionResult<T>> {
  if (options.maxAttempts < 1) throw new ConfigurationError('max-attempts must be at least 1')
  const work = await fs.mkdtemp(join(options.tempDir ?? tmpdir(), 'gitops-repo-'))
  // A run stopped by a signal still removes the clone.
  const unregister = registerTempDir(work)
  let git: GitClient | undefined
  try {
    git = await GitClient.clone(
      {
        url: options.url,
        dir: work,
        branch: options.branch,
        depth: options.depth ?? 1,
        auth: options.auth,
        timeoutMs: options.gitTimeoutMs,
      },
      log,
    )
    const branch = options.branch ?? (await git.branch())
    const target = options.mode === 'pull-request' ? options.prBranch! : branch
    // Full jitter from 500 ms up to 4 s: contending pipelines spread out instead of colliding again.
    const backoff = new Backoff({ baseMs: 500, capMs: 4000, jitter: 'full' })
    for (let attempt = 1; ; attempt++) {
      const planned = await apply(git, attempt)
      if (!planned.commit) {
        return { result: planned.result, changed: false, branch, attempts: attempt }
      }
      const commit = await git.commit(planned.message, options.author)
      log.info(`Committed ${commit.slice(0, 12)}: ${planned.message.split('\n')[0]}`)
      if (options.dryRun) {
        log.info(`dry-run: not pushing to ${redactUrl(options.url)} ${target}`)
        return { result: planned.result, changed: true, commit, branch, attempts: attempt }
      }
      try {
        if (options.mode === 'pull-request') {
          // Our own branch: replace it, but only if nobody moved it since we looked.
          const lease = (await git.remoteBranchCommit(target)) ?? ''
          await git.push(target, { lease })
        } else {
          await git.push(target)
        }
        log.info(`Pushed ${commit.slice(0, 12)} to ${target} (attempt ${attempt})`)
        return {
          result: planned.result,
          changed: true,
          commit,
          pushedTo: target,
          branch,
          attempts: attempt,
        }
      } catch (error) {
        if (!(error instanceof PushRejectedError)) throw error
        if (attempt >= options.maxAttempts) {
          throw new Error(
            `push to ${target} was rejected ${attempt} times (others kept pushing first); ` +
              `nothing was changed — run the job again, or raise max-attempts`,
          )
        }
        const wait = backoff.next()
        log.info(
          `Push rejected: ${target} moved. Re-applying on the new tip in ${wait} ms (attempt ${attempt + 1}/${options.maxAttempts})`,
        )
        await sleep(wait)
        await git.resetToRemote(branch)
      }
    }
  } finally {
    await git?.dispose()
    await fs.rm(work, { recursive: true, force: true })
    unregister()
  }
}

/**
 * What every command that writes to the gitops repo is given: the repository, how to log in and commit,
 * push or pull request (`readRepoInputs` reads it from the inputs).
 */
export interface ReleaseRepoOptions extends Pick<
  RepoOptions,
  'branch' | 'auth' | 'author' | 'mode' | 'maxAttempts' | 'dryRun' | 'gitTimeoutMs' | 'tempDir'
> {
  /** The gitops repo's URL (or local path). */
  repository: string
  /** The git host's API, to open the pull request in pull-request mode. */
  pullRequest?: PullRequestApi
}

/**
 * A change to one env/app: `commitToGitops`, then in pull-request mode the one pull (or merge) request
 * of the tool's branch `gitops/<env>/<app>` opened or updated, titled by `describe`.
 */
export async function commitReleaseChange<T>(
  options: ReleaseRepoOptions,
  target: { env: string; app: string },
  log: Logger,
  apply: (git: GitClient, attempt: number) => Promise<Planned<T>>,
  describe: (result: T) => { title: string; body: string },
): Promise<TransactionResult<T> & { pullRequestUrl?: string }> {
  const prBranch = `gitops/${target.env}/${target.app}`
  const tx = await commitToGitops(
    {
      url: options.repository,
      branch: options.branch,
      auth: options.auth,
      author: options.author,
      mode: options.mode,
      prBranch,
      maxAttempts: options.maxAttempts,
      dryRun: options.dryRun,
      gitTimeoutMs: options.gitTimeoutMs,
      tempDir: options.tempDir,
    },
    log,
    apply,
  )
  if (!tx.changed || options.mode !== 'pull-request' || options.dryRun) return tx
  if (!options.pullRequest) {
    throw new ConfigurationError('pull-request mode needs the git host API (token and repository)')
  }
  const pullRequestUrl = await openPullRequest(
    options.pullRequest,
    { head: prBranch, base: tx.branch, ...describe(tx.result) },
    log,
  )
  return { ...tx, pullRequestUrl }
}
