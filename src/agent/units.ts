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
} from '../lib/manifests/yaml.js'
import { planUnits, type PlanOptions, type UnitPlan } from './unit-plans.js'

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

/** The units loaded last time, by path, with git's hash of their content then. */
export type UnitCache = Map<string, { hash: string; unit: Unit }>

export interface LoadOptions extends PlanOptions {
  /**
   * The units loaded last time with git's hash of their content then (a folder's tree hash): a unit
   * whose hash did not change is not read and parsed again.
   */
  cache?: UnitCache
  /** Limits of each kustomize build (--kustomize-timeout, --kustomize-memory-limit). */
  kustomize?: { timeoutMs?: number; memoryLimitMB?: number }
}

/**
 * Kustomize builds at once: a build that hangs (a remote resource that never answers) holds one slot
 * until its timeout while the other units go on; more would compete for the agent's memory and CPU.
 */
const BUILDS_AT_ONCE = 2

/** Checks a `--git-path` value: relative, inside the repository. */
export function checkGitPath(path: string): string {
  const clean = normalize(path).replace(/\/+$/, '')
  if (clean.startsWith('..') || clean.startsWith('/')) {
    throw new ConfigurationError(`--git-path ${path} must be a path inside the repository`)
  }
  return clean === '.' ? '' : clean
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

/** A unit that cannot be loaded; its release (when readable) and content hash still name what failed. */
function failed(path: string, error: string, release?: ReleaseInfo, hash = ''): Unit {
  return { path, objects: [], digest: `unloadable:${hash}`, release, retired: false, error }
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
