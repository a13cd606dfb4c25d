/**
 * What a publish puts in place (a release, a promotion or a retirement): the objects and release.json of
 * the folder `releases/<env>/<app>/`, written out, and the commit message that says so.
 */
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { ConfigurationError } from '../errors.js'
import type { GitClient } from '../git/git.js'
import { readManifestFolder, type SerializedManifest } from '../manifests/folder.js'
import { manifestsDigest, validateManifests } from '../manifests/objects.js'
import type { KubeObject } from '../manifests/yaml.js'
import { RELEASE_FILE, releasePath } from './layout.js'
import { readRelease, releaseText, type ReleaseInfo } from './release.js'
import { safeRepoPath } from './safe-path.js'
import { commitMessage, releaseTrailers } from './trailers.js'

export interface SourceInfo {
  repo?: string
  commit?: string
  /** ISO 8601; orders non-SemVer versions. */
  commitTime?: string
  run?: string
}

/** What a publish asks for, as far as the folder's content and its commit go. */
export interface ContentRequest {
  env: string
  app: string
  version?: string
  source: SourceInfo
  releasedBy?: string
  kustomizeVersion?: string
  /** Extra text for the commit body. */
  message?: string
  /** Promote: copy the release of this env. */
  fromEnv?: string
  allowSecrets: boolean
}

/** The content a publish puts in place, before it is checked against what is in the repo. */
export interface Content {
  kind: 'release' | 'promote' | 'retire'
  /** Remove the folder altogether (retiring an app that is already retired). */
  remove?: boolean
  info: ReleaseInfo
  /** Object files (name, YAML); none for a retirement. */
  files: { file: string; yaml: string }[]
  objects: KubeObject[]
}

/** The content for the request: the rendered objects, a copy of `fromEnv`'s release, or a retirement. */
export async function contentFor(
  options: ContentRequest,
  git: GitClient,
  rendered: SerializedManifest[] | undefined,
  current: ReleaseInfo | undefined,
  now: string,
): Promise<Content> {
  const base = {
    app: options.app,
    env: options.env,
    releasedAt: now,
    releasedBy: options.releasedBy,
  }
  if (rendered) {
    const objects = rendered.map((m) => m.object)
    return {
      kind: 'release',
      objects,
      files: rendered,
      info: {
        ...base,
        version: options.version!,
        digest: manifestsDigest(objects),
        objects: objects.length,
        sourceRepo: options.source.repo,
        sourceCommit: options.source.commit,
        sourceCommitTime: options.source.commitTime,
        sourceRun: options.source.run,
        kustomizeVersion: options.kustomizeVersion,
      },
    }
  }
  if (options.fromEnv) {
    const fromPath = releasePath(options.fromEnv, options.app)
    const fromDir = await safeRepoPath(git.dir, fromPath)
    const from = await readRelease(git.dir, fromPath)
    if (!from || from.retired) {
      throw new ConfigurationError(`cannot promote: ${fromPath} holds no release of ${options.app}`)
    }
    // First: the folder holds regular *.yaml files only (a symlinked file is refused), then their bytes.
    const docs = await readManifestFolder(fromDir, { skip: [RELEASE_FILE] })
    const names = (await fs.readdir(fromDir))
      .filter((n) => n !== RELEASE_FILE && !n.startsWith('.'))
      .sort()
    const files = await Promise.all(
      names.map(async (file) => ({ file, yaml: await fs.readFile(join(fromDir, file), 'utf8') })),
    )
    const objects = validateManifests(docs, { allowSecrets: options.allowSecrets }).map(
      (m) => m.object,
    )
    if (manifestsDigest(objects) !== from.digest) {
      throw new ConfigurationError(
        `cannot promote: the objects in ${releasePath(options.fromEnv, options.app)} do not match its release.json digest (edited by hand?)`,
      )
    }
    const { pinned: _pinned, ...copied } = from
    return {
      kind: 'promote',
      objects,
      files,
      info: {
        ...copied,
        ...base,
        releasedBy: options.releasedBy ?? from.releasedBy,
        promotedFrom: options.fromEnv,
      },
    }
  }
  // Retire: an empty release that says so, and the agent prunes the app's objects on purpose. Once
  // retired, retiring again removes the folder.
  return {
    kind: 'retire',
    remove: current?.retired === true,
    objects: [],
    files: [],
    info: {
      ...base,
      version: current?.version ?? options.version ?? 'retired',
      digest: manifestsDigest([]),
      objects: 0,
      retired: true,
    },
  }
}

/** Replaces the folder with the content (or removes it). */
export async function writeFolder(dir: string, content: Content): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true })
  if (content.remove) return
  await fs.mkdir(dir, { recursive: true })
  await Promise.all(content.files.map((f) => fs.writeFile(join(dir, f.file), f.yaml)))
  await fs.writeFile(join(dir, RELEASE_FILE), releaseText(content.info))
}

/** The commit message: what happened in the subject, `notes` (what force overrode) in the body, trailers. */
export function messageFor(options: ContentRequest, content: Content, notes: string[]): string {
  const { env, app, version } = content.info
  const subject =
    content.kind === 'promote'
      ? `promote(${options.fromEnv}→${env}/${app}): ${version}`
      : content.remove
        ? `retire(${env}/${app}): removed`
        : `${content.kind}(${env}/${app}): ${version}`
  const trailers = releaseTrailers({
    app,
    env,
    version,
    digest: content.info.digest,
    sourceRepo: content.info.sourceRepo,
    sourceCommit: content.info.sourceCommit,
    sourceRun: content.info.sourceRun,
    promotedFrom: content.kind === 'promote' ? options.fromEnv : undefined,
    releasedBy: content.info.releasedBy,
  })
  return commitMessage(
    subject,
    [options.message ?? '', ...notes].filter(Boolean).join('\n\n'),
    trailers,
  )
}
