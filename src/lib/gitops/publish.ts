/**
 * `publish-release`: put an app's rendered manifests into the gitops repo under `releases/<env>/<app>/`
 * with `release.json`, commit with trailers and push; or promote the exact release of another env; or
 * retire the app.
 */
import { ConfigurationError } from '../errors.js'
import { localCommitTime, type GitClient } from '../git/git.js'
import { splitUrlCredentials } from '../git/remote.js'
import type { Logger } from '../log.js'
import {
  serializeManifests,
  readManifestFolder,
  type SerializedManifest,
} from '../manifests/folder.js'
import { validateManifests } from '../manifests/objects.js'
import { diffObjects, folderObjects, type ObjectDiff } from './diff.js'
import { findPinCommit } from './history.js'
import { RELEASE_FILE, releasePath, validateName } from './layout.js'
import { describeRelease, parseRelease, readRelease, type ReleaseInfo } from './release.js'
import {
  contentFor,
  messageFor,
  writeFolder,
  type Content,
  type ContentRequest,
} from './release-content.js'
import { safeRepoPath } from './safe-path.js'
import {
  commitReleaseChange,
  outcome,
  type ChangeOutcome,
  type Planned,
  type ReleaseRepoOptions,
} from './transaction.js'
import { compareReleases } from './version.js'

export interface PublishOptions extends ReleaseRepoOptions, ContentRequest {
  /** The per-object folder that render wrote (not with `fromEnv` or `retire`). */
  manifests?: string
  /** Override the downgrade, same-version and pin refusals. */
  force: boolean
  retire: boolean
}

export interface PublishResult extends ChangeOutcome {
  version: string
  digest: string
  path: string
  diff: ObjectDiff
}

/**
 * A CI's clone URL may carry the job's token (GitLab's CI_REPOSITORY_URL,
 * `https://gitlab-ci-token:TOKEN@host/…`): release.json and the commit record only where the source lives.
 */
function withoutSourceCredentials(options: PublishOptions, log: Logger): PublishOptions {
  const repo = options.source.repo
  if (!repo) return options
  const { url } = splitUrlCredentials(repo)
  if (url === repo) return options
  log.warn(
    "input 'source-repo' holds credentials (user info in the URL): they are left out of release.json and the commit; give the URL without them",
  )
  return { ...options, source: { ...options.source, repo: url } }
}

/** Checks every input, then publishes. */
export async function publishRelease(options: PublishOptions, log: Logger): Promise<PublishResult> {
  const env = validateName('env', options.env)
  const app = validateName('app', options.app)
  if (options.fromEnv !== undefined) validateName('from-env', options.fromEnv)
  if (options.fromEnv === env)
    throw new ConfigurationError(`input 'from-env' is the same as 'env' (${env})`)
  const modes = [
    options.manifests !== undefined,
    options.fromEnv !== undefined,
    options.retire,
  ].filter(Boolean)
  if (modes.length !== 1) {
    throw new ConfigurationError(
      "give exactly one of 'manifests' (publish), 'from-env' (promote) or 'retire: true' (remove the app)",
    )
  }
  validateSourceCommit(options.source.commit)
  options = withoutSourceCredentials(options, log)
  // The manifests are read and validated before anything is cloned.
  let rendered: SerializedManifest[] | undefined
  if (options.manifests !== undefined) {
    if (!options.version)
      throw new ConfigurationError("input 'version' is required to publish manifests")
    const docs = await readManifestFolder(options.manifests)
    if (docs.length === 0) {
      throw new ConfigurationError(
        `manifests folder ${options.manifests} holds no objects; to remove the app, publish with retire: true`,
      )
    }
    const manifests = validateManifests(docs, { allowSecrets: options.allowSecrets })
    rendered = serializeManifests(manifests.map((m) => m.object))
  }
  // Without a given time, the source commit's own, from the checkout the step runs in.
  if (options.source.commit && !options.source.commitTime) {
    options = {
      ...options,
      source: { ...options.source, commitTime: await localCommitTime(options.source.commit) },
    }
  }
  const path = releasePath(env, app)
  const now = new Date().toISOString()

  const tx = await commitReleaseChange(
    options,
    { env, app },
    log,
    async (git): Promise<Planned<Omit<PublishResult, 'commit' | 'changed' | 'attempts'>>> => {
      // Checked before anything is read or written there: no symlink on the way out of the clone.
      const dir = await safeRepoPath(git.dir, path)
      const current = await readRelease(git.dir, path)
      const content = await contentFor(options, git, rendered, current, now)
      const result = {
        version: content.info.version,
        digest: content.info.digest,
        path,
        diff: { added: [], changed: [], removed: [] } as ObjectDiff,
      }
      const notes = await check(options, git, path, content, current)
      if (options.mode === 'pull-request') await checkPendingRequest(options, git, path, content)
      if (notes === 'unchanged') {
        log.info(`${path} already holds ${describeRelease(current!)}: nothing to publish`)
        // The outputs tell what is in place after the run: the release already there.
        return {
          commit: false,
          result: { ...result, version: current!.version, digest: current!.digest },
        }
      }
      const before = await folderObjects(dir, log)
      result.diff = diffObjects(before, content.objects)
      await writeFolder(dir, content)
      await git.addAll(path)
      if (!(await git.hasStagedChanges(path))) return { commit: false, result }
      return { commit: true, message: messageFor(options, content, notes), result }
    },
    (result) => ({
      title: `${options.fromEnv ? 'promote' : options.retire ? 'retire' : 'release'}(${env}/${app}): ${result.version}`,
      body: `Release of \`${app}\` to \`${env}\`, version \`${result.version}\`.\n\nOpened by gitops-actions; a newer release updates this pull request.`,
    }),
  )

  return outcome(tx)
}

// A git object id: SHA-1 (40) or SHA-256 (64), or an abbreviation of at least 7.
const COMMIT_ID = /^[0-9a-f]{7,64}$/i

/**
 * The source commit ends up in release.json, where the agent reads it back into git-host API paths: only
 * a hex object id gets in. The value is not echoed (it may be anything, at any length).
 */
function validateSourceCommit(commit: string | undefined): void {
  if (commit === undefined || COMMIT_ID.test(commit)) return
  throw new ConfigurationError(
    "input 'source-commit' (or GITHUB_SHA / CI_COMMIT_SHA) is not a commit id: " +
      'give the hexadecimal object id of the source commit, 7 to 64 characters',
  )
}

/**
 * Compares the new content with the release in place. Returns `unchanged` when publishing would change
 * nothing, or notes for the commit body (what `force` overrode); throws on a refusal.
 */
async function check(
  options: PublishOptions,
  git: GitClient,
  path: string,
  content: Content,
  current: ReleaseInfo | undefined,
): Promise<string[] | 'unchanged'> {
  const notes: string[] = []
  if (!current) return notes
  if (current.pinned) {
    if (!options.force) {
      const pin = await findPinCommit(git, path)
      throw new ConfigurationError(
        `${path} is pinned at ${current.version} by rollback ${pin ? pin.hash.slice(0, 12) : '(commit not found)'}` +
          ` (${current.pinned.reason}); publish with force: true to override, or unpin it first (command: unpin)`,
      )
    }
    notes.push(`Forced: replaces the pinned rollback to ${current.version}.`)
  }
  // Retiring needs no ordering; nor does bringing back an app that was retired.
  if (content.kind === 'retire' || current.retired) return notes
  const order = orderAgainst(content.info, current)
  if (order < 0) {
    if (!options.force) {
      throw new ConfigurationError(
        `refusing to downgrade ${path}: it holds ${describeRelease(current)}, newer than ${content.info.version}; ` +
          `publish with force: true to override`,
      )
    }
    notes.push(`Forced: downgrade from ${current.version}.`)
  } else if (order === 0) {
    if (current.digest === content.info.digest) {
      return current.pinned ? notes : 'unchanged'
    }
    if (!options.force) {
      throw new ConfigurationError(
        `${path} already holds version ${current.version} with other manifests (digest ${current.digest}, ` +
          `now ${content.info.digest}): a rebuilt artifact under an old name? Give a new version, or force: true`,
      )
    }
    notes.push(`Forced: replaces version ${current.version} with a different digest.`)
  }
  return notes
}

/**
 * Orders the release being published against one already in the repo (or pending): SemVer, else both
 * source commit times; when neither orders two different versions, the repo's own history does, and the
 * publish happening now is the newer one. 0 only for the same version string.
 */
function orderAgainst(next: ReleaseInfo, existing: ReleaseInfo): number {
  return (
    compareReleases(
      { version: next.version, sourceCommitTime: next.sourceCommitTime },
      { version: existing.version, sourceCommitTime: existing.sourceCommitTime },
    ) ?? 1
  )
}

/**
 * In pull-request mode, the tool's branch may hold a newer release that is waiting for review: replacing
 * it with an older one would let an old release be merged over it.
 */
async function checkPendingRequest(
  options: PublishOptions,
  git: GitClient,
  path: string,
  content: Content,
): Promise<void> {
  const text = await git.remoteBranchFile(
    `gitops/${options.env}/${options.app}`,
    `${path}/${RELEASE_FILE}`,
  )
  if (!text || content.kind === 'retire' || options.force) return
  const pending = parseRelease(
    text,
    `${path}/${RELEASE_FILE} on branch gitops/${options.env}/${options.app}`,
  )
  if (pending.retired) return
  if (orderAgainst(content.info, pending) < 0) {
    throw new ConfigurationError(
      `refusing to replace the pending pull request of ${path}: it holds ${describeRelease(pending)}, newer than ${content.info.version}; ` +
        `publish with force: true to override`,
    )
  }
}
