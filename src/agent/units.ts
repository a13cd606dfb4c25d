/**
 * Units: what the agent applies as one. Each folder directly under a git path is one unit, with its
 * subfolders; the files directly in a git path form one unit of their own. A unit's manifests are its
 * `*.yaml`/`*.yml` files but `release.json`, `kustomization.yaml` and dotfiles; with manifest generation, a
 * unit holding a `kustomization.yaml` (or a Flux v1 `.flux.yaml` whose generator is `kustomize build`) is
 * built with kustomize instead. No other command from git is ever run.
 */
import { existsSync, promises as fs } from 'node:fs'
import { join, normalize, relative } from 'node:path'
import { ConfigurationError, errorMessage } from '../lib/errors.js'
import { RELEASE_FILE } from '../lib/gitops/layout.js'
import { readRelease, type ReleaseInfo } from '../lib/gitops/release.js'
import { kustomizeBuild, resolveKustomize } from '../lib/kustomize/kustomize.js'
import type { Logger } from '../lib/log.js'
import { manifestsDigest, validateManifests, type Manifest } from '../lib/manifests/objects.js'
import { parseManifestText, type LoadedDocument, type LoadLimits } from '../lib/manifests/yaml.js'

export interface Unit {
  /** Relative to the repo root, with `/`: `releases/staging/shop`, or `workloads` for loose files. */
  path: string
  objects: Manifest[]
  /** Digest of the unit's objects; changes with any of them. */
  digest: string
  release?: ReleaseInfo
  /** The unit's release.json says the app is retired: its objects are pruned on purpose. */
  retired: boolean
  /** Why the unit could not be loaded (it is then neither applied nor pruned). */
  error?: string
}

export interface LoadOptions {
  manifestGeneration: boolean
  limits?: LoadLimits
  /**
   * Git's hash of each unit's content (a folder's tree hash), and the units loaded last time with the
   * hash they had: a unit whose hash did not change is not read and parsed again.
   */
  hashes?: Map<string, string>
  cache?: Map<string, { hash: string; unit: Unit }>
}

const MANIFEST = /\.ya?ml$/i
const SKIPPED = new Set([RELEASE_FILE, 'kustomization.yaml', 'kustomization.yml', 'Kustomization'])

/** Checks a `--git-path` value: relative, inside the repository. */
export function checkGitPath(path: string): string {
  const clean = normalize(path).replace(/\/+$/, '')
  if (clean.startsWith('..') || clean.startsWith('/')) {
    throw new ConfigurationError(`--git-path ${path} must be a path inside the repository`)
  }
  return clean === '.' ? '' : clean
}

/** Loads every unit under the git paths of a checkout. A unit that fails to load carries its error. */
export async function loadUnits(
  repo: string,
  gitPaths: string[],
  options: LoadOptions,
  log: Logger,
): Promise<Unit[]> {
  const units: Unit[] = []
  for (const gitPath of gitPaths) {
    const dir = join(repo, gitPath)
    if (!existsSync(dir)) {
      units.push(failed(gitPath || '.', `--git-path ${gitPath} does not exist in the repository`))
      continue
    }
    if (options.manifestGeneration && isGenerated(dir)) {
      units.push(await loadUnit(repo, gitPath || '.', dir, 'tree', options, log))
      continue
    }
    const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )
    if (entries.some((e) => e.isFile() && isManifestFile(e.name))) {
      units.push(await loadUnit(repo, gitPath || '.', dir, 'files', options, log))
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !entry.name.startsWith('.')) {
        const path = gitPath ? `${gitPath}/${entry.name}` : entry.name
        units.push(await loadUnit(repo, path, join(dir, entry.name), 'tree', options, log))
      }
    }
  }
  return units
}

/** A unit that cannot be loaded; its release (when readable) and content hash still name what failed. */
function failed(path: string, error: string, release?: ReleaseInfo, hash = ''): Unit {
  return { path, objects: [], digest: `unloadable:${hash}`, release, retired: false, error }
}

function isManifestFile(name: string): boolean {
  return MANIFEST.test(name) && !name.startsWith('.') && !SKIPPED.has(name)
}

function isGenerated(dir: string): boolean {
  return ['kustomization.yaml', 'kustomization.yml', 'Kustomization', '.flux.yaml'].some((f) =>
    existsSync(join(dir, f)),
  )
}

async function loadUnit(
  repo: string,
  path: string,
  dir: string,
  scope: 'files' | 'tree',
  options: LoadOptions,
  log: Logger,
): Promise<Unit> {
  // Generated units may read files outside their folder (../base): they are always built again.
  const hash = options.manifestGeneration ? undefined : options.hashes?.get(path)
  const cached = options.cache?.get(path)
  if (hash && cached?.hash === hash) return cached.unit
  const unit = await readUnit(repo, path, dir, scope, options, log, hash)
  if (hash && !unit.error) options.cache?.set(path, { hash, unit })
  return unit
}

async function readUnit(
  repo: string,
  path: string,
  dir: string,
  scope: 'files' | 'tree',
  options: LoadOptions,
  log: Logger,
  hash?: string,
): Promise<Unit> {
  let release: ReleaseInfo | undefined
  try {
    release = scope === 'tree' ? await readRelease(dir) : undefined
    let docs: LoadedDocument[]
    if (scope === 'tree' && options.manifestGeneration && isGenerated(dir)) {
      docs = await generate(repo, dir, log)
    } else {
      docs = []
      // Read together (the file system answers in parallel), parsed in order.
      const files = await manifestFiles(dir, scope === 'tree')
      const texts = await Promise.all(files.map((file) => fs.readFile(file, 'utf8')))
      files.forEach((file, i) =>
        docs.push(...parseManifestText(texts[i], relative(repo, file), options.limits)),
      )
    }
    // Git is the truth: Secrets in it are applied (publish-release is where plaintext ones are refused).
    const objects = validateManifests(docs, { allowSecrets: true })
    const retired = release?.retired === true
    return {
      path,
      objects,
      digest: manifestsDigest(objects.map((m) => m.object)) + (retired ? ':retired' : ''),
      release,
      retired,
    }
  } catch (error) {
    return failed(path, errorMessage(error), release, hash ?? release?.digest)
  }
}

async function manifestFiles(dir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = []
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue
    const full = join(dir, entry.name)
    if (entry.isDirectory() && recursive) out.push(...(await manifestFiles(full, true)))
    else if (entry.isFile() && isManifestFile(entry.name)) out.push(full)
  }
  return out
}

/** Builds a generated unit with kustomize; a `.flux.yaml` may name nothing but `kustomize build`. */
async function generate(repo: string, dir: string, log: Logger): Promise<LoadedDocument[]> {
  const fluxFile = join(dir, '.flux.yaml')
  if (existsSync(fluxFile)) {
    const config =
      parseManifestText(await fs.readFile(fluxFile, 'utf8'), relative(repo, fluxFile))[0]?.value ??
      {}
    const section = (config.commandUpdated ?? config.patchUpdated) as
      { generators?: { command?: string }[] } | undefined
    const commands = (section?.generators ?? []).map((g) => (g.command ?? '').trim())
    const allowed = /^kustomize build( \.)?$/
    const refused = commands.filter((c) => !allowed.test(c))
    if (commands.length === 0 || refused.length > 0) {
      throw new ConfigurationError(
        `${relative(repo, fluxFile)}: only 'kustomize build .' generators are run; refused: ${refused.join('; ') || '(none given)'} (running commands from git is not allowed)`,
      )
    }
  }
  const text = await kustomizeBuild(resolveKustomize(undefined), dir, {}, log)
  return parseManifestText(text, `kustomize build ${relative(repo, dir)}`)
}
