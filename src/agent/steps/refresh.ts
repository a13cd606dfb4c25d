/**
 * Step 1: the checkout at the remote's head. A quiet poll is one `git ls-remote`; the branch is fetched
 * only when it moved, or cloned when nothing usable is on disk. Units are read from git's objects: the
 * clone has no work tree, and a checkout is made beside it only for kustomize.
 */
import { promises as fs } from 'node:fs'
import { join, resolve } from 'node:path'
import { errorMessage } from '../../lib/errors.js'
import { GitClient, type GitAuth, type TreeEntry } from '../../lib/git/git.js'
import { redactUrl } from '../../lib/git/remote.js'
import type { Logger } from '../../lib/log.js'
import type { AgentConfig } from '../config.js'
import type { RepoFiles } from '../units.js'
import type { CycleResult } from './outcome.js'
import type { Step } from './context.js'

/** The agent's clone, kept between cycles. */
export class Repo {
  private git?: GitClient
  /** The branch and commit checked out, while `git` is open. */
  private checkout?: { branch: string; head: string }
  /** What is under the git paths at the last commit read, and whether its files are on disk. */
  private listing?: { commit: string; entries: TreeEntry[]; checkedOut: boolean }

  constructor(
    private readonly config: AgentConfig,
    private readonly auth: GitAuth,
    private readonly log: Logger,
  ) {}

  /** The remote's head, fetched; the remote out of reach ends the cycle, changing nothing. */
  async refresh(): Promise<Step<string, CycleResult>> {
    try {
      return { next: await this.head() }
    } catch (error) {
      const message = errorMessage(error)
      this.log.error(
        `event=git-error url=${redactUrl(this.config.gitUrl)}: ${message}; nothing is changed in the cluster`,
      )
      return { end: { gitError: message, units: [] } }
    }
  }

  private async head(): Promise<string> {
    const dir = join(this.config.workDir, 'repo')
    const options = {
      url: this.config.gitUrl,
      dir,
      auth: this.auth,
      timeoutMs: this.config.gitTimeoutMs,
    }
    // A checkout left by an earlier run (a restart, or --once again) is brought up to date, not cloned.
    if (!this.git) {
      const opened = await GitClient.open(options, this.log)
      // A clone of another branch (the flag changed) is not this one's.
      if (opened && this.config.gitBranch && (await opened.branch()) !== this.config.gitBranch)
        await opened.dispose()
      else this.git = opened
    }
    if (!this.git) {
      // A new clone: nothing known of the old one holds (its files on disk above all).
      this.listing = undefined
      await fs.rm(dir, { recursive: true, force: true })
      // The new clone's index knows nothing of the files an old one wrote there.
      await fs.rm(join(this.config.workDir, 'tree'), { recursive: true, force: true })
      await fs.mkdir(this.config.workDir, { recursive: true })
      // No work tree: units are read from git's objects (writing thousands of files only to read them
      // back cost more than the whole fetch).
      this.git = await GitClient.clone(
        { ...options, branch: this.config.gitBranch, depth: 1, checkout: false },
        this.log,
      )
      const head = await this.git.head()
      this.checkout = { branch: this.config.gitBranch ?? (await this.git.branch()), head }
      this.log.info(`event=refreshed url=${redactUrl(this.config.gitUrl)} HEAD=${head}`)
      return head
    }
    // What is checked out is remembered between cycles: a quiet poll is one `git ls-remote`.
    this.checkout ??= {
      branch: this.config.gitBranch ?? (await this.git.branch()),
      head: await this.git.head(),
    }
    const { branch } = this.checkout
    const remote = await this.git.remoteBranchCommit(branch)
    if (!remote) throw new Error(`branch ${branch} is gone from ${redactUrl(this.config.gitUrl)}`)
    if (remote === this.checkout.head) return remote
    try {
      const previous = this.checkout.head
      const head = await this.git.fetchHead(branch)
      this.checkout = { branch, head }
      this.log.info(`event=refreshed url=${redactUrl(this.config.gitUrl)} HEAD=${head}`)
      // A fetch follows a force-push silently: say so, since what only the old history held is about
      // to leave the cluster.
      if (!(await this.git.isAncestor(previous, head))) {
        this.log.warn(
          `event=history-rewritten url=${redactUrl(this.config.gitUrl)} branch=${branch} from=${previous} to=${head}: ` +
            `the branch was force-pushed; what it holds now is applied as the truth`,
        )
      }
      return head
    } catch (error) {
      // The remote answered but the clone could not follow it: clone afresh next time.
      await this.git.dispose()
      this.git = undefined
      this.checkout = undefined
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
      throw error
    }
  }

  /** The files under the git paths at `commit`, listed once per commit (`git ls-tree`). */
  async files(commit: string): Promise<RepoFiles> {
    const git = this.git
    if (!git) throw new Error('no clone to read')
    if (this.listing?.commit !== commit) {
      const entries: TreeEntry[] = []
      for (const gitPath of this.config.gitPaths)
        entries.push(...(await git.listTree(commit, gitPath)))
      this.listing = { commit, entries, checkedOut: false }
    }
    const listing = this.listing
    return {
      entries: listing.entries,
      read: (blobs) => git.readBlobs(blobs),
      checkout: async () => {
        // Beside the clone, not in it: kustomize's root must hold no `.git` (its config, its objects)
        // that a kustomization in git could copy into the cluster.
        const tree = resolve(this.config.workDir, 'tree')
        if (!listing.checkedOut) await git.checkout(commit, tree)
        listing.checkedOut = true
        return tree
      },
    }
  }

  /** The listing is read again next time (loading from it failed). */
  forgetListing(): void {
    this.listing = undefined
  }

  async dispose(): Promise<void> {
    await this.git?.dispose()
  }
}
