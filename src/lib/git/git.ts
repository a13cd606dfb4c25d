/**
 * The one git wrapper. Everything that touches git goes through `GitClient` (the git binary run directly,
 * arguments as arrays, never a shell, one command at a time per clone). Credentials never reach
 * `.git/config` (see `credentials.ts`); clone and fetch retry what may succeed on retry (`retry.ts`).
 */
import { existsSync, promises as fs } from 'node:fs'
import { join } from 'node:path'
import { ConfigurationError } from '../errors.js'
import type { Logger } from '../log.js'
import {
  credentialsFromUrl,
  prepareCredentials,
  type Credentials,
  type GitAuth,
} from './credentials.js'
import { describeFailure, execGit, gitEnvironment, redact } from './exec.js'
import { cloneArgs, fetchArgs, type CloneOptions } from './fetch.js'
import { logArgs, parseLog, shallowCommits, type CommitInfo } from './history.js'
import { redactUrl } from './remote.js'
import { withRetry } from './retry.js'
import { batchBound, lsTreeArgs, parseBatch, parseTree, type TreeEntry } from './tree.js'
import { commitArgs, pushArgs, pushFailure, type Identity } from './write.js'

export type { GitAuth } from './credentials.js'
export { GitCommandError } from './exec.js'
export { localCommitTime, type CommitInfo } from './history.js'
export type { TreeEntry } from './tree.js'
export { PushRejectedError, type Identity } from './write.js'

/** A working clone of one remote branch, and the git commands run on it. */
export class GitClient {
  /** The command running now: commands on one clone run one after another. */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    readonly dir: string,
    readonly url: string,
    private readonly env: Record<string, string>,
    private readonly timeoutMs: number | undefined,
    private readonly credentials: Credentials,
    private readonly log: Logger,
  ) {}

  /** Runs one git command in the clone, after those already started. */
  private async raw(args: string[]): Promise<string> {
    return (await this.rawBytes(args)).toString('utf8')
  }

  private rawBytes(args: string[], input?: string, maxOutputBytes?: number): Promise<Buffer> {
    const run = this.queue.then(() =>
      execGit(args, {
        cwd: this.dir,
        env: this.env,
        timeoutMs: this.timeoutMs,
        input,
        maxOutputBytes,
      }),
    )
    this.queue = run.catch(() => undefined)
    return run
  }

  /** A client on `dir` whose every git command carries the credentials. */
  private static make(
    dir: string,
    url: string,
    credentials: Credentials,
    log: Logger,
    timeoutMs?: number,
  ): GitClient {
    // GIT_SSH_COMMAND and the GIT_CONFIG_* header are built here (a temp key file and pinned known_hosts;
    // the token's header), never taken from user input as they are.
    const env = { ...gitEnvironment(), ...credentials.env }
    return new GitClient(dir, url, env, timeoutMs, credentials, log)
  }

  /**
   * Clones `branch` of `url` into `dir` (created), shallowly unless `depth` is 0. The default branch is
   * asked of the remote when `branch` is not given.
   */
  static async clone(
    options: CloneOptions & { auth?: GitAuth; timeoutMs?: number },
    log: Logger,
  ): Promise<GitClient> {
    options = { ...options, ...credentialsFromUrl(options.url, options.auth) }
    if (options.url.startsWith('-')) {
      // git would take it for an option (`--upload-pack=<command>` runs a command).
      throw new ConfigurationError(
        `repository: '${redactUrl(options.url)}' is not a repository URL (it starts with '-')`,
      )
    }
    const credentials = await prepareCredentials(options.url, options.auth ?? {}, log)
    try {
      await fs.mkdir(options.dir, { recursive: true })
      const client = GitClient.make(options.dir, options.url, credentials, log, options.timeoutMs)
      const depth = options.depth ?? 1
      // Without a branch, git clones the remote's default branch (its HEAD): no extra round trip.
      const what = `${redactUrl(options.url)} (branch ${options.branch ?? '(default)'}${depth ? `, depth ${depth}` : ''})`
      log.info(`Cloning ${what}`)
      await client.network(cloneArgs(options), `clone ${what}`)
      if (!options.branch && !(await client.resolveCommit('HEAD'))) {
        throw new ConfigurationError(
          `${redactUrl(options.url)} is empty (no default branch); set the branch input`,
        )
      }
      return client
    } catch (error) {
      await credentials.dispose()
      throw error
    }
  }

  /**
   * Opens a clone made earlier (by `clone`) in `dir`, if it is one of `url`; undefined otherwise. Lets a
   * restarted process fetch what changed instead of cloning again.
   */
  static async open(
    options: { url: string; dir: string; auth?: GitAuth; timeoutMs?: number },
    log: Logger,
  ): Promise<GitClient | undefined> {
    if (!existsSync(join(options.dir, '.git'))) return undefined
    // An origin stored with user info (by an older version) differs, so that clone is replaced.
    options = { ...options, ...credentialsFromUrl(options.url, options.auth) }
    const credentials = await prepareCredentials(options.url, options.auth ?? {}, log)
    const client = GitClient.make(options.dir, options.url, credentials, log, options.timeoutMs)
    try {
      const origin = (await client.run(['remote', 'get-url', 'origin'], 'read the origin')).trim()
      if (origin === options.url) return client
    } catch {
      // not a usable clone: the caller clones afresh
    }
    await credentials.dispose()
    return undefined
  }

  /** Runs git; a failure becomes an error that says what was being done. */
  async run(args: string[], what: string): Promise<string> {
    return (await this.runBytes(args, what)).toString('utf8')
  }

  /** `run` for output that is not text (file contents), with `input` on stdin. */
  private async runBytes(
    args: string[],
    what: string,
    input?: string,
    maxOutputBytes?: number,
  ): Promise<Buffer> {
    this.log.debug(redact(`git ${args.join(' ')}`))
    try {
      return await this.rawBytes(args, input, maxOutputBytes)
    } catch (error) {
      throw describeFailure(error, what)
    }
  }

  /** `run` for a command that reaches the remote (clone, fetch, ls-remote): retried when it may help. */
  private network(args: string[], what: string): Promise<string> {
    return withRetry(() => this.run(args, what), this.log)
  }

  /** Fetches `branch` (all new commits, keeping any history already here) and resets the work tree to it. */
  async resetToRemote(branch: string): Promise<string> {
    await this.network(
      fetchArgs([`+refs/heads/${branch}:refs/remotes/origin/${branch}`]),
      `fetch ${branch}`,
    )
    await this.run(
      ['reset', '--quiet', '--hard', `refs/remotes/origin/${branch}`],
      `reset to origin/${branch}`,
    )
    // Untracked files: none in a clone only this tool writes to, but a publish retry makes sure.
    await this.run(['clean', '-q', '-fdx'], 'clean the work tree')
    return this.head()
  }

  /** Fetches `depth` more commits of history (or all of it); false when there was nothing more. */
  async deepen(depth: number | 'all'): Promise<boolean> {
    if (!(await this.isShallow())) return false
    const deeper = depth === 'all' ? '--unshallow' : `--deepen=${depth}`
    await this.network(fetchArgs([], [deeper]), 'fetch more history')
    return true
  }

  /**
   * The commits at the shallow boundary. `git log -- <path>` lists a boundary commit whatever it changed
   * (its parent is missing, so everything looks added): a history read from a shallow clone must leave
   * them out until more history is fetched.
   */
  shallowBoundary(): Promise<Set<string>> {
    return shallowCommits(this.dir)
  }

  async isShallow(): Promise<boolean> {
    return (
      (await this.run(['rev-parse', '--is-shallow-repository'], 'inspect the clone')).trim() ===
      'true'
    )
  }

  /** The branch checked out. */
  async branch(): Promise<string> {
    return (await this.run(['rev-parse', '--abbrev-ref', 'HEAD'], 'read the branch')).trim()
  }

  async head(): Promise<string> {
    return (await this.run(['rev-parse', 'HEAD'], 'read HEAD')).trim()
  }

  /** Stages everything under `path` (additions, changes and removals). */
  async addAll(path: string): Promise<void> {
    await this.run(['add', '--all', '--', path], `stage ${path}`)
  }

  /** True when the index differs from HEAD under `path`. */
  async hasStagedChanges(path: string): Promise<boolean> {
    const out = await this.run(['diff', '--cached', '--name-only', '--', path], 'compare with HEAD')
    return out.trim() !== ''
  }

  /** Commits what is staged, with the given author as author and committer. */
  async commit(message: string, author: Identity): Promise<string> {
    await this.run(commitArgs(message, author), 'commit')
    return this.head()
  }

  /**
   * Pushes HEAD to `branch`. A rejection because the branch moved is a `PushRejectedError` (the caller
   * fetches and re-applies); anything else is a plain error. `lease` makes it a force-with-lease push
   * (only ever used on the tool's own pull-request branches).
   */
  async push(branch: string, options: { lease?: string } = {}): Promise<void> {
    try {
      await this.run(pushArgs(branch, options.lease), `push to ${branch}`)
    } catch (error) {
      throw pushFailure(error)
    }
  }

  /** The commit a remote branch points at, or undefined when it does not exist. */
  async remoteBranchCommit(branch: string): Promise<string | undefined> {
    const out = await this.network(
      ['ls-remote', 'origin', `refs/heads/${branch}`],
      `look up ${branch}`,
    )
    return out.trim() ? out.trim().split(/\s+/)[0] : undefined
  }

  /** A file of another branch of the remote (fetched shallowly), or undefined when either is missing. */
  async remoteBranchFile(branch: string, path: string): Promise<string | undefined> {
    if (!(await this.remoteBranchCommit(branch))) return undefined
    const ref = `refs/gitops-actions/${branch}`
    await this.network(
      fetchArgs([`+refs/heads/${branch}:${ref}`], ['--depth', '1']),
      `fetch ${branch}`,
    )
    try {
      return await this.raw(['show', `${ref}:${path}`])
    } catch {
      return undefined
    }
  }

  /** `git log` of `path` as records of hash, subject, body and commit time, newest first. */
  async history(path: string, range = 'HEAD'): Promise<CommitInfo[]> {
    return parseLog(await this.run(logArgs(path, range), `read the history of ${path}`))
  }

  /**
   * Every file and folder under `path` at `commit`, recursively, in git's order, with git's modes,
   * object hashes and blob sizes (`git ls-tree -r -t -l`). Paths are relative to the repository's root.
   */
  async listTree(commit: string, path: string): Promise<TreeEntry[]> {
    return parseTree(await this.runBytes(lsTreeArgs(commit, path), `list ${path || 'the root'}`))
  }

  /**
   * The content of blobs: one `git cat-file --batch` for all of them. Its output may be as large as
   * the sizes asked for (from `listTree`) and no larger: a huge file is read only when asked for.
   */
  async readBlobs(wanted: { hash: string; size: number }[]): Promise<Map<string, Buffer>> {
    const unique = new Map(wanted.map((b) => [b.hash, b.size]))
    if (unique.size === 0) return new Map()
    const out = await this.runBytes(
      ['cat-file', '--batch'],
      `read ${unique.size} files`,
      `${[...unique.keys()].join('\n')}\n`,
      batchBound(unique),
    )
    return parseBatch(out)
  }

  /**
   * Fetches `branch` straight into the local branch of that name, without touching the work tree: for a
   * clone whose files are read from git's objects. Returns the branch's new commit.
   */
  async fetchHead(branch: string): Promise<string> {
    await this.network(
      fetchArgs([`+refs/heads/${branch}:refs/heads/${branch}`], ['--update-head-ok']),
      `fetch ${branch}`,
    )
    return (await this.run(['rev-parse', `refs/heads/${branch}`], `read ${branch}`)).trim()
  }

  /**
   * Writes a commit's files into the work tree, for tools that read files (kustomize); into `workTree`
   * (created) when given, a folder without `.git`, so such tools cannot read the clone's own files. The
   * clone's index follows the last tree written: only files that changed since are written again.
   */
  async checkout(commit: string, workTree?: string): Promise<void> {
    if (workTree) await fs.mkdir(workTree, { recursive: true })
    await this.run(
      [...(workTree ? [`--work-tree=${workTree}`] : []), 'reset', '--quiet', '--hard', commit],
      `check out ${commit.slice(0, 12)}`,
    )
  }

  /**
   * True when `ancestor` is in the history of `commit`: the branch moved forward from it. False when
   * it is not (the branch was force-pushed), or when git cannot tell.
   */
  async isAncestor(ancestor: string, commit: string): Promise<boolean> {
    try {
      await this.raw(['merge-base', '--is-ancestor', ancestor, commit])
      return true
    } catch {
      return false
    }
  }

  /** Resolves a commit name (full or short hash) to a full hash, or undefined. */
  async resolveCommit(name: string): Promise<string | undefined> {
    try {
      return (
        (await this.raw(['rev-parse', '--verify', '--quiet', `${name}^{commit}`])).trim() ||
        undefined
      )
    } catch {
      return undefined
    }
  }

  /** Puts `path` as it was at `commit` into the work tree and index (removing what was added since). */
  async restorePath(commit: string, path: string): Promise<void> {
    await this.run(['rm', '-r', '-q', '--ignore-unmatch', '--', path], `clear ${path}`)
    await this.run(['checkout', commit, '--', path], `restore ${path} from ${commit}`)
  }

  /** Removes credentials files; the clone itself is the caller's to remove. */
  async dispose(): Promise<void> {
    await this.credentials.dispose()
  }
}
