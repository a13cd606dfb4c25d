/** `release.json`: what a release folder holds, read by publish, rollback and the agent. */
import { existsSync, promises as fs } from 'node:fs'
import { join } from 'node:path'
import { ConfigurationError } from '../errors.js'
import { RELEASE_FILE } from './layout.js'

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

/** Reads `<dir>/release.json`; undefined when there is none. */
export async function readRelease(dir: string): Promise<ReleaseInfo | undefined> {
  const file = join(dir, RELEASE_FILE)
  if (!existsSync(file)) return undefined
  return parseRelease(await fs.readFile(file, 'utf8'), file)
}

/** Checks and reads the text of a release file; `file` names it in the error. */
export function parseRelease(text: string, file: string): ReleaseInfo {
  try {
    const value = JSON.parse(text) as ReleaseInfo
    if (typeof value.version !== 'string' || typeof value.digest !== 'string') {
      throw new Error('version or digest missing')
    }
    return value
  } catch (error) {
    throw new ConfigurationError(`${file} is not a valid release file: ${(error as Error).message}`)
  }
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
