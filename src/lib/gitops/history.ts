/** Reading the release history of one env/app from the gitops repo's git log. */
import type { CommitInfo, GitClient } from '../git/git.js'
import { RELEASE_FILE } from './layout.js'
import { commitKind, trailer, TRAILERS } from './trailers.js'

/**
 * The history of `path`, newest first, fetching more of a shallow clone until `enough` says it has what
 * it needs or the whole history is here.
 */
export async function pathHistory(
  git: GitClient,
  path: string,
  enough: (commits: CommitInfo[]) => boolean,
): Promise<CommitInfo[]> {
  let depth = 50
  for (;;) {
    const boundary = await git.shallowBoundary()
    const commits = (await git.history(path)).filter((c) => !boundary.has(c.hash))
    if (enough(commits)) return commits
    if (!(await git.deepen(depth))) return commits
    depth *= 2
  }
}

/** The newest rollback commit of `path`: the one that pinned it. */
export async function findPinCommit(git: GitClient, path: string): Promise<CommitInfo | undefined> {
  const isPin = (c: CommitInfo) => commitKind(c.message) === 'rollback'
  const commits = await pathHistory(git, `${path}/${RELEASE_FILE}`, (cs) => cs.some(isPin))
  return commits.find(isPin)
}

/** True for commits that put a new release in place (not rollbacks, unpins or retirements). */
export function isReleaseCommit(c: CommitInfo): boolean {
  const kind = commitKind(c.message)
  return kind === 'release' || kind === 'promote'
}

/** The release commit a rollback restored (its `Rollback-To:` trailer). */
export function rollbackTarget(c: CommitInfo): string | undefined {
  return commitKind(c.message) === 'rollback' ? trailer(c.message, TRAILERS.rollbackTo) : undefined
}
