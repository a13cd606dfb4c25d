/** `release.json`: what a release folder holds, read by publish, rollback and the agent. */
import { existsSync, promises as fs } from 'node:fs'
import { ConfigurationError } from '../errors.js'
import { RELEASE_FILE } from './layout.js'
import { safeRepoPath } from './safe-path.js'

export interface Pin {
  /** Why (the rollback's reason). */
  reason: string
  /** The version that was rolled back from. */
  from: string
  at: string
}

export interface ReleaseInfo {
  app: string
  env: string
  version: string
  /** sha256 of the manifests' canonical form (see `manifestsDigest`). */
  digest: string
  objects: number
  sourceRepo?: string
  sourceCommit?: string
  sourceCommitTime?: string
  sourceRun?: string
  releasedBy?: string
  kustomizeVersion?: string
  releasedAt: string
  /** Set when the release was copied from another env. */
  promotedFrom?: string
  /** Set by a rollback: publish and promote refuse this env/app until unpinned (or forced). */
  pinned?: Pin
  /** The app is being removed: the agent prunes its objects. */
  retired?: boolean
}

/**
 * Reads `<folder>/release.json` of the clone at `root` (`folder` repo-relative); undefined when there is
 * none. A symlink anywhere on the way, the file itself included, is refused by name before it is read.
 */
export async function readRelease(root: string, folder: string): Promise<ReleaseInfo | undefined> {
  const name = `${folder}/${RELEASE_FILE}`
  const file = await safeRepoPath(root, name, 'file')
  if (!existsSync(file)) return undefined
  return parseRelease(await fs.readFile(file, 'utf8'), name)
}

/**
 * Checks and reads the text of a release file; `file` names it in the error. The error says what is
 * wrong, never the text: a release file may be a symlink's target or hold anything.
 */
export function parseRelease(text: string, file: string): ReleaseInfo {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // JSON.parse's message quotes the text: not shown.
    throw new ConfigurationError(`${file} is not a valid release file: it is not JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError(`${file} is not a valid release file: it is not a JSON object`)
  }
  const info = value as Partial<ReleaseInfo>
  if (typeof info.version !== 'string' || typeof info.digest !== 'string') {
    throw new ConfigurationError(
      `${file} is not a valid release file: 'version' and 'digest' must be strings`,
    )
  }
  return info as ReleaseInfo
}

/** The file's text: keys in a fixed order, two-space indent, a final newline. */
export function releaseText(info: ReleaseInfo): string {
  const ordered: (keyof ReleaseInfo)[] = [
    'app',
    'env',
    'version',
    'digest',
    'objects',
    'sourceRepo',
    'sourceCommit',
    'sourceCommitTime',
    'sourceRun',
    'releasedBy',
    'kustomizeVersion',
    'releasedAt',
    'promotedFrom',
    'pinned',
    'retired',
  ]
  const out: Record<string, unknown> = {}
  for (const key of ordered) if (info[key] !== undefined) out[key] = info[key]
  return `${JSON.stringify(out, null, 2)}\n`
}

/** A short description for messages: `1.4.2 (source abc1234, released 2026-…)`. */
export function describeRelease(info: ReleaseInfo): string {
  const source = info.sourceCommit ? `source ${info.sourceCommit.slice(0, 12)}, ` : ''
  return `${info.version} (${source}released ${info.releasedAt}${info.releasedBy ? ` by ${info.releasedBy}` : ''})`
}
