/**
 * `rollback`: put one env/app back to an earlier release. The folder is restored exactly as it was at
 * the target release, in one commit whose `Reverts:` trailers list every commit it undoes: the same
 * result as `git revert` of each of them, newest first, without touching other apps and without needing
 * whole-commit reverts. The app is pinned so the next CI publish does not silently undo it.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigurationError } from '../errors.js'
import type { CommitInfo, GitClient } from '../git/git.js'
import type { Logger } from '../log.js'
import { diffObjects, folderObjects, type ObjectDiff } from './diff.js'
import { isReleaseCommit, pathHistory, rollbackTarget } from './history.js'
import { RELEASES_DIR, RELEASE_FILE, releasePath, validateName } from './layout.js'
import { describeRelease, readRelease, releaseText } from './release.js'
import { safeRepoPath } from './safe-path.js'
import { commitMessage, releaseTrailers, trailer, TRAILERS } from './trailers.js'
import {
  commitReleaseChange,
  outcome,
  type ChangeOutcome,
  type ReleaseRepoOptions,
} from './transaction.js'
import { promises as fs } from 'node:fs'

export interface RollbackOptions extends ReleaseRepoOptions {
  env: string
  app: string
  /** A commit, a version, or `previous`. */
  to: string
  reason?: string
  pin: boolean
}

export interface RollbackResult extends ChangeOutcome {
  /** The version now in place. */
  version: string
  /** The version rolled back from. */
  from: string
  /** The release commit restored. */
  target: string
  /** Every commit undone, newest first. */
  reverted: string[]
  diff: ObjectDiff
}

const sameVersion = (a: string, b: string) => a.replace(/^v/, '') === b.replace(/^v/, '')

/** The release commit whose content is in place now: the newest release, or what a later rollback restored. */
function currentRelease(commits: CommitInfo[]): string | undefined {
  for (const c of commits) {
    const restored = rollbackTarget(c)
    if (restored) return restored
    if (isReleaseCommit(c)) return c.hash
  }
  return undefined
}

/** Finds the target release commit for `to`, fetching more history while it is not found. */
async function findTarget(git: GitClient, path: string, to: string): Promise<string> {
  const releaseFile = `${path}/${RELEASE_FILE}`
  if (to === 'previous') {
    let found: string | undefined
    await pathHistory(git, releaseFile, (commits) => {
      const current = currentRelease(commits)
      const releases = commits.filter(isReleaseCommit).map((c) => c.hash)
      const i = current ? releases.indexOf(current) : -1
      found = i >= 0 ? releases[i + 1] : undefined
      return found !== undefined
    })
    if (!found)
      throw new ConfigurationError(`${path} has no release before the current one to roll back to`)
    return found
  }
  if (/^[0-9a-f]{7,40}$/i.test(to)) {
    let hash: string | undefined
    await pathHistory(git, releaseFile, (commits) => {
      hash = commits.find((c) => c.hash.startsWith(to.toLowerCase()))?.hash
      return hash !== undefined
    })
    if (hash) return hash
    if (!(await git.resolveCommit(to))) {
      throw new ConfigurationError(
        `input 'to': commit ${to} is not in the history of the gitops repo`,
      )
    }
    throw new ConfigurationError(
      `input 'to': commit ${to} did not change ${path}; name a release commit of this app`,
    )
  }
  let hash: string | undefined
  await pathHistory(git, releaseFile, (commits) => {
    hash = commits.find(
      (c) => isReleaseCommit(c) && sameVersion(trailer(c.message, TRAILERS.version) ?? '', to),
    )?.hash
    return hash !== undefined
  })
  if (!hash)
    throw new ConfigurationError(`input 'to': ${path} never had a release of version ${to}`)
  return hash
}

export async function rollback(options: RollbackOptions, log: Logger): Promise<RollbackResult> {
  const env = validateName('env', options.env)
  const app = validateName('app', options.app)
  if (!options.to.trim())
    throw new ConfigurationError("input 'to' is required (a commit, a version, or previous)")
  const path = releasePath(env, app)

  let chosen: { target: string; from: { version: string; digest: string } } | undefined
  const tx = await commitReleaseChange(
    options,
    { env, app },
    log,
    async (git) => {
      // Checked before anything is read or written there: no symlink on the way out of the clone.
      const dir = await safeRepoPath(git.dir, path)
      const current = await readRelease(git.dir, path)
      if (!current) {
        if (!existsSync(join(git.dir, RELEASES_DIR, env))) {
          throw new ConfigurationError(
            `the gitops repo has no env '${env}' (no ${RELEASES_DIR}/${env}/)`,
          )
        }
        throw new ConfigurationError(
          `${app} was never released to ${env} (no ${path}/${RELEASE_FILE})`,
        )
      }
      // A retry (someone pushed first) keeps the target chosen on the first attempt, and only if the
      // release it rolls back from is still the one in place: `previous` must not move under it.
      if (
        chosen &&
        (chosen.from.version !== current.version || chosen.from.digest !== current.digest)
      ) {
        throw new ConfigurationError(
          `${path} changed while rolling back: it now holds ${describeRelease(current)}; nothing was rolled back — look again and rerun the rollback`,
        )
      }
      const target = chosen?.target ?? (await findTarget(git, path, options.to.trim()))
      chosen = { target, from: { version: current.version, digest: current.digest } }
      const reverted = (await git.history(path, `${target}..HEAD`)).map((c) => c.hash)
      const before = await folderObjects(dir, log)
      await git.restorePath(target, path)
      // The old release may itself hold a symlink (a symlinked release.json): checked again, and
      // readRelease refuses one before release.json is read or rewritten.
      await safeRepoPath(git.dir, path)
      const restored = await readRelease(git.dir, path)
      if (!restored) throw new ConfigurationError(`commit ${target} has no ${path}/${RELEASE_FILE}`)
      const { pinned: _oldPin, ...info } = restored
      const pinned = options.pin
        ? {
            reason: options.reason || 'rollback',
            from: current.version,
            at: new Date().toISOString(),
          }
        : undefined
      await fs.writeFile(join(dir, RELEASE_FILE), releaseText({ ...info, pinned }))
      const result = {
        version: restored.version,
        from: current.version,
        target,
        reverted,
        diff: diffObjects(before, await folderObjects(dir, log)),
      }
      await git.addAll(path)
      if (reverted.length === 0 || !(await git.hasStagedChanges(path))) {
        log.info(
          `${path} is already at ${restored.version} (${target.slice(0, 12)}): nothing to roll back`,
        )
        return { commit: false as const, result }
      }
      const trailers = releaseTrailers({
        app,
        env,
        version: restored.version,
        sourceRepo: restored.sourceRepo,
        sourceCommit: restored.sourceCommit,
        sourceRun: restored.sourceRun,
        rollbackTo: target,
        reverts: reverted,
      })
      const body = [
        `Rolls ${app} in ${env} back from ${current.version} to ${restored.version}.`,
        options.reason ? `Reason: ${options.reason}` : '',
        options.pin
          ? 'Pinned: publish and promote refuse this app until it is unpinned (or forced).'
          : '',
      ]
        .filter(Boolean)
        .join('\n')
      return {
        commit: true as const,
        message: commitMessage(`rollback(${env}/${app}): ${restored.version}`, body, trailers),
        result,
      }
    },
    (result) => ({
      title: `rollback(${env}/${app}): ${result.version}`,
      body: `Rolls \`${app}\` in \`${env}\` back from \`${result.from}\` to \`${result.version}\`.${options.reason ? `\n\nReason: ${options.reason}` : ''}`,
    }),
  )

  return outcome(tx)
}
