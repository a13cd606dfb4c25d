/**
 * What each unit under a git path is made of, from git's listing alone (nothing is read yet): its
 * manifests, its release.json, whether kustomize builds it, and why it cannot be loaded at all.
 */
import { RELEASE_FILE } from '../lib/gitops/layout.js'
import type { TreeEntry } from '../lib/git/git.js'
import { DEFAULT_MAX_BYTES, type LoadLimits } from '../lib/manifests/yaml.js'

/** What planning reads of the load options. */
export interface PlanOptions {
  manifestGeneration: boolean
  limits?: LoadLimits
}

const MANIFEST = /\.ya?ml$/i
const SKIPPED = new Set([RELEASE_FILE, 'kustomization.yaml', 'kustomization.yml', 'Kustomization'])

/** What one unit is made of, before anything is read. */
export interface UnitPlan {
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

/** The units of one git path: one per folder directly in it, and one for its loose files. */
export function planUnits(entries: TreeEntry[], gitPath: string, options: PlanOptions): UnitPlan[] {
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
  options: PlanOptions,
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
  options: PlanOptions,
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
