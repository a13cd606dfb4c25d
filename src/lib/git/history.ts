/** Reading commits: `git log` records, and a commit's time in the checkout a CI step runs in. */
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { execGit, gitEnvironment } from './exec.js'

export interface CommitInfo {
  hash: string
  /** Committer time, ISO 8601. */
  time: string
  message: string
}

/** `git log` of `path` in `range` as records of hash, commit time and message (see `parseLog`). */
export function logArgs(path: string, range: string): string[] {
  return ['log', '--format=%H%x1f%cI%x1f%B%x1e', range, '--', path]
}

/** The commits in `logArgs` output, newest first. */
export function parseLog(out: string): CommitInfo[] {
  return out
    .split('\x1e')
    .map((r) => r.trim())
    .filter((r) => r !== '')
    .map((r) => {
      const [hash, time, message] = r.split('\x1f')
      return { hash, time, message: message.trim() }
    })
}

/**
 * The committer time (ISO 8601) of a commit in the repository at `dir` (the checkout a CI step runs in),
 * or undefined when it is not there.
 */
export async function localCommitTime(
  commit: string,
  dir = process.cwd(),
): Promise<string | undefined> {
  if (!/^[0-9a-f]{7,64}$/i.test(commit)) return undefined
  try {
    const out = await execGit(['show', '-s', '--format=%cI', commit], {
      cwd: dir,
      env: gitEnvironment(),
    })
    return out.toString('utf8').trim() || undefined
  } catch {
    return undefined
  }
}

/** The commits at the shallow boundary of the clone in `dir` (none when it is not shallow). */
export async function shallowCommits(dir: string): Promise<Set<string>> {
  try {
    const text = await fs.readFile(join(dir, '.git', 'shallow'), 'utf8')
    return new Set(text.split('\n').filter(Boolean))
  } catch {
    return new Set()
  }
}
