/**
 * Units: what the agent applies as one. Each folder directly under a git path is one unit, with its
 * subfolders; the files directly in a git path form one unit of their own. A unit's manifests are its
 * `*.yaml`/`*.yml` files but `release.json`, `kustomization.yaml` and dotfiles; with manifest generation, a
 * unit holding a `kustomization.yaml` (or a Flux v1 `.flux.yaml` whose generator is `kustomize build`) is
 * built with kustomize instead; without it, such a unit fails (read as plain files, it would look empty). No
 * other command from git is ever run.
 */
import { join, normalize, posix } from 'node:path'
import { ConfigurationError, errorMessage } from '../lib/errors.js'
import type { TreeEntry } from '../lib/git/git.js'
import { RELEASE_FILE } from '../lib/gitops/layout.js'
import { parseRelease, type ReleaseInfo } from '../lib/gitops/release.js'
import { Limiter } from '../lib/concurrency.js'
import { kustomizeBuild, resolveKustomize } from '../lib/kustomize/kustomize.js'
import type { Logger } from '../lib/log.js'
import { ProcessLimitError } from '../lib/process/run.js'
import { manifestsDigest, validateManifests, type Manifest } from '../lib/manifests/objects.js'
import {
  DEFAULT_MAX_BYTES,
  decodeUtf8,
  parseManifestText,
  type LoadedDocument,
  type LoadLimits,
} from '../lib/manifests/yaml.js'

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

/**
 * The repository at one commit, as the loader reads it: git's listing and objects, so that nothing has
 * to be written to disk and read back, but for the units kustomize builds.
 */
export interface RepoFiles {
  /** Every file and folder under the git paths (`git ls-tree -r -t`, in git's order). */
  entries: TreeEntry[]
  /** Files' content by blob hash; each file's size (from the listing) bounds what is read. */
  read(blobs: { hash: string; size: number }[]): Promise<Map<string, Buffer>>
  /** The root of a checkout of the commit on disk, made on first use. */
  checkout(): Promise<string>
}

export interface LoadOptions {
  manifestGeneration: boolean
  limits?: LoadLimits
  /**
   * The units loaded last time with git's hash of their content then (a folder's tree hash): a unit
   * whose hash did not change is not read and parsed again.
   */
  cache?: Map<string, { hash: string; unit: Unit }>
  /** Limits of each kustomize build (--kustomize-timeout, --kustomize-memory-limit). */
  kustomize?: { timeoutMs?: number; memoryLimitMB?: number }
}

/**
 * Kustomize builds at once: a build that hangs (a remote resource that never answers) holds one slot
 * until its timeout while the other units go on; more would compete for the agent's memory and CPU.
 */
const BUILDS_AT_ONCE = 2

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

/** What one unit is made of, before anything is read. */
interface UnitPlan {
  path: string
  /** Git's hash of the unit's content: its tree, or its loose files' blobs together. */
  hash: string
  manifests: TreeEntry[]
  release?: TreeEntry
  /** Built with kustomize: its `.flux.yaml`, if any, says how. */
  generated?: { flux?: TreeEntry }
  /** Why it cannot be loaded at all. */
  error?: string
}

/** Loads every unit under the git paths. A unit that fails to load carries its error. */
export async function loadUnits(
  files: RepoFiles,
  gitPaths: string[],
  options: LoadOptions,
  log: Logger,
): Promise<Unit[]> {
  const plans = gitPaths.flatMap((gitPath) => planUnits(files.entries, gitPath, options))
  // Units whose content did not change are taken as loaded last time; generated units may read files
  // outside their folder (../base) and are always built again.
  const cached = (p: UnitPlan) => {
    const hit = options.cache?.get(p.path)
    return !p.generated && !p.error && hit?.hash === p.hash ? hit.unit : undefined
  }
  // Every file still to read, in one go.
  const wanted = plans
    .filter((p) => !p.error && !cached(p))
    .flatMap((p) => [...p.manifests, p.release, p.generated?.flux])
    .filter((e): e is TreeEntry => e !== undefined)
  const blobs = await files.read(wanted)
  const text = (e: TreeEntry) => {
    const blob = blobs.get(e.hash)
    // Never read as empty (a unit with no objects would have them all pruned).
    if (!blob) throw new Error(`${e.path}: git did not give its content`)
    if (e.mode === '120000')
      throw new ConfigurationError(
        `${e.path} is a symbolic link: the agent reads regular files from git only`,
      )
    return decodeUtf8(blob, e.path)
  }
  // One checkout for every build, made by the first that needs it.
  let root: Promise<string> | undefined
  const shared: RepoFiles = { ...files, checkout: () => (root ??= files.checkout()) }
  const builds = new Limiter(BUILDS_AT_ONCE)
  // Each unit on its own: one whose build fails (a timeout, the memory limit, an error) fails alone.
  return Promise.all(
    plans.map(async (plan) => {
      const hit = cached(plan)
      if (hit) return hit
      const read = () => readUnit(plan, text, shared, options, log)
      const unit = plan.generated ? await builds.run(read) : await read()
      if (!plan.generated && !unit.error) options.cache?.set(plan.path, { hash: plan.hash, unit })
      return unit
    }),
  )
}

/** The units of one git path: one per folder directly in it, and one for its loose files. */
function planUnits(entries: TreeEntry[], gitPath: string, options: LoadOptions): UnitPlan[] {
  const prefix = gitPath ? `${gitPath}/` : ''
  const under = prefix ? entries.filter((e) => e.path.startsWith(prefix)) : entries
  const unitPath = gitPath || '.'
  if (under.length === 0) {
    return [
      {
        path: unitPath,
        hash: '',
        manifests: [],
        error: `--git-path ${gitPath} does not exist in the repository`,
      },
    ]
  }
  if (options.manifestGeneration && isGenerated(under, prefix)) {
    return [planFolder(unitPath, '', under, prefix, true, options)]
  }
  const plans: UnitPlan[] = []
  const loose = under.filter((e) => isManifest(e, prefix, false))
  const rootMarker = generationMarker(under, prefix)
  if (rootMarker) {
    plans.push({
      path: unitPath,
      hash: '',
      manifests: [],
      error: generationOff(`${prefix}${rootMarker}`),
    })
  } else if (loose.length > 0) {
    // File names count too: a renamed file is read again, so messages name it as it is now.
    const hash = loose.map((e) => `${e.path}:${e.hash}`).join(',')
    // Its own files only: a folder beside them (even one badly named) is a unit of its own.
    const direct = under.filter(
      (e) => e.type !== 'tree' && !e.path.slice(prefix.length).includes('/'),
    )
    const error = unreadable(unitPath, direct, loose, options)
    plans.push({ path: unitPath, hash, manifests: loose, error })
  }
  // Each folder directly in the git path with all that is inside it, sorted out in one pass: a poll
  // plans every unit, and a repository may hold thousands.
  const folders = new Map<string, { tree?: TreeEntry; content: TreeEntry[] }>()
  const depth = prefix ? prefix.split('/').length - 1 : 0
  for (const e of under) {
    const rest = e.path.slice(prefix.length)
    const slash = rest.indexOf('/')
    const name = slash < 0 ? rest : rest.slice(0, slash)
    // A name that is not UTF-8 is shown escaped; its key cannot be any UTF-8 name's (no name holds \0).
    const key = e.notUtf8At === depth ? `\0${name}` : name
    const folder = folders.get(key) ?? { content: [] }
    folders.set(key, folder)
    if (slash >= 0) folder.content.push(e)
    else if (e.type === 'tree') folder.tree = e
  }
  for (const [key, { tree, content }] of folders) {
    if (!tree || key.startsWith('.')) continue
    const inside = `${tree.path}/`
    const marker = generationMarker(content, inside)
    // Read as plain files, a kustomization is no manifest: the unit would look empty (or partial).
    if (marker && !options.manifestGeneration) {
      plans.push({
        path: tree.path,
        hash: tree.hash,
        manifests: [],
        error: generationOff(`${inside}${marker}`),
      })
      continue
    }
    plans.push(planFolder(tree.path, tree.hash, content, inside, marker !== undefined, options))
  }
  return plans
}

function planFolder(
  path: string,
  hash: string,
  content: TreeEntry[],
  prefix: string,
  generated: boolean,
  options: LoadOptions,
): UnitPlan {
  const direct = (name: string) =>
    content.find((e) => e.type === 'blob' && e.path === `${prefix}${name}`)
  const manifests = generated ? [] : content.filter((e) => isManifest(e, prefix, true))
  const release = direct(RELEASE_FILE)
  const flux = generated ? direct('.flux.yaml') : undefined
  const read = [...manifests, release, flux].filter((e): e is TreeEntry => e !== undefined)
  return {
    path,
    hash,
    manifests,
    release,
    generated: generated ? { flux } : undefined,
    error: unreadable(path, content, read, options),
  }
}

/**
 * Why a unit cannot be read, from git's listing alone: a name that is not UTF-8 (it would read as
 * another's), or a file to read that is larger than the loader takes (it is then never read: a few
 * compressed bytes in git may be gigabytes).
 */
function unreadable(
  path: string,
  content: TreeEntry[],
  toRead: TreeEntry[],
  options: LoadOptions,
): string | undefined {
  const badName = content.find((e) => e.notUtf8At !== undefined)
  if (badName) {
    return `a file or folder name under ${path} is not UTF-8: ${badName.path} (bytes shown as \\xNN); rename it in git (the unit is neither applied nor pruned)`
  }
  const maxBytes = options.limits?.maxBytes ?? DEFAULT_MAX_BYTES
  const big = toRead.find((e) => e.size > maxBytes)
  if (big) {
    return `${big.path} is ${mib(big.size)}, more than the ${mib(maxBytes)} a file may be: split it, or move it out of the git path (the unit is neither applied nor pruned)`
  }
  return undefined
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`
}

/** A unit that cannot be loaded; its release (when readable) and content hash still name what failed. */
function failed(path: string, error: string, release?: ReleaseInfo, hash = ''): Unit {
  return { path, objects: [], digest: `unloadable:${hash}`, release, retired: false, error }
}

/** A manifest of the unit at `prefix`: a plain file, in no dot folder, in a subfolder only if `deep`. */
function isManifest(e: TreeEntry, prefix: string, deep: boolean): boolean {
  // Symlinks (mode 120000) and submodules are not files of the unit.
  if (e.type !== 'blob' || e.mode === '120000') return false
  const parts = e.path.slice(prefix.length).split('/')
  if (!deep && parts.length > 1) return false
  const name = parts[parts.length - 1]
  return MANIFEST.test(name) && !SKIPPED.has(name) && parts.every((part) => !part.startsWith('.'))
}

const GENERATION_MARKERS = [
  'kustomization.yaml',
  'kustomization.yml',
  'Kustomization',
  '.flux.yaml',
]

/** The file that makes the unit at `prefix` one kustomize builds, if any. */
function generationMarker(content: TreeEntry[], prefix: string): string | undefined {
  return GENERATION_MARKERS.find((m) =>
    content.some((e) => e.type === 'blob' && e.path === `${prefix}${m}`),
  )
}

function isGenerated(content: TreeEntry[], prefix: string): boolean {
  return generationMarker(content, prefix) !== undefined
}

function generationOff(file: string): string {
  return `${file} asks for kustomize, but manifest generation is off: start the agent with --manifest-generation, or commit the built manifests instead (the unit is neither applied nor pruned)`
}

async function readUnit(
  plan: UnitPlan,
  text: (e: TreeEntry) => string,
  files: RepoFiles,
  options: LoadOptions,
  log: Logger,
): Promise<Unit> {
  if (plan.error) return failed(plan.path, plan.error)
  let release: ReleaseInfo | undefined
  try {
    release = plan.release ? parseRelease(text(plan.release), plan.release.path) : undefined
    let docs: LoadedDocument[]
    if (plan.generated) {
      docs = await generate(plan, text, await files.checkout(), options, log)
    } else {
      docs = plan.manifests.flatMap((e) => parseManifestText(text(e), e.path, options.limits))
    }
    // Git is the truth: Secrets in it are applied (publish-release is where plaintext ones are refused).
    const objects = validateManifests(docs, { allowSecrets: true })
    const retired = release?.retired === true
    // A retired app's folder holds its release.json alone (publish-release writes it so). One that
    // still declares objects is not what retiring makes: pruning, or dropping them from the
    // inventory, would act on a half-written change.
    if (retired && objects.length > 0) {
      throw new ConfigurationError(
        `${plan.release!.path} says the app is retired, but the unit still declares ${objects.length} objects; ` +
          `nothing is applied or pruned: retire it with publish-release (retire: true), which leaves release.json alone, or publish a release`,
      )
    }
    return {
      path: plan.path,
      objects,
      digest: manifestsDigest(objects.map((m) => m.object)) + (retired ? ':retired' : ''),
      release,
      retired,
    }
  } catch (error) {
    // A build killed because the agent is stopping is no failure of the unit: the load stops.
    if (error instanceof ProcessLimitError && error.reason === 'stopped') throw error
    return failed(plan.path, errorMessage(error), release, plan.hash || release?.digest)
  }
}

/** Builds a generated unit with kustomize; a `.flux.yaml` may name nothing but `kustomize build`. */
async function generate(
  plan: UnitPlan,
  text: (e: TreeEntry) => string,
  root: string,
  options: LoadOptions,
  log: Logger,
): Promise<LoadedDocument[]> {
  const fluxFile = plan.generated?.flux
  if (fluxFile) {
    const config = parseManifestText(text(fluxFile), fluxFile.path)[0]?.value ?? {}
    const section = (config.commandUpdated ?? config.patchUpdated) as
      { generators?: { command?: string }[] } | undefined
    const commands = (section?.generators ?? []).map((g) => (g.command ?? '').trim())
    const allowed = /^kustomize build( \.)?$/
    const refused = commands.filter((c) => !allowed.test(c))
    if (commands.length === 0 || refused.length > 0) {
      throw new ConfigurationError(
        `${fluxFile.path}: only 'kustomize build .' generators are run; refused: ${refused.join('; ') || '(none given)'} (running commands from git is not allowed)`,
      )
    }
  }
  const dir = plan.path === '.' ? root : join(root, ...plan.path.split(posix.sep))
  const built = await kustomizeBuild(
    resolveKustomize(undefined),
    dir,
    {
      timeoutMs: options.kustomize?.timeoutMs,
      memoryLimitMB: options.kustomize?.memoryLimitMB,
      // The loader refuses more: the agent never holds a larger build's output.
      maxOutputBytes: options.limits?.maxBytes ?? DEFAULT_MAX_BYTES,
    },
    log,
  )
  return parseManifestText(built, `kustomize build ${plan.path}`)
}
