/**
 * The per-object folder form (`<kind>-<name>.yaml`, one object a file) and the single-file form, written
 * atomically, and read back.
 */
import { createHash } from 'node:crypto'
import { existsSync, promises as fs } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { ConfigurationError } from '../errors.js'
import { sortObjects } from './objects.js'
import {
  decodeUtf8,
  parseManifestText,
  toYaml,
  type KubeObject,
  type LoadedDocument,
} from './yaml.js'

const MANIFEST_FILE = /\.ya?ml$/i

/**
 * File names for objects: `<kind>-<name>.yaml`, lower case; the namespace is added to the objects whose
 * plain names would collide, and characters unsafe in file names become `_`.
 */
export function fileNamesFor(objects: KubeObject[]): string[] {
  const safe = (s: string): string => s.toLowerCase().replace(/[^a-z0-9._-]/g, '_')
  const plain = objects.map((o) => `${safe(o.kind)}-${safe(o.metadata.name)}`)
  const count = (names: string[]): Map<string, number> => {
    const m = new Map<string, number>()
    for (const n of names) m.set(n, (m.get(n) ?? 0) + 1)
    return m
  }
  const plainCount = count(plain)
  const withNs = objects.map((o, i) =>
    plainCount.get(plain[i]) === 1
      ? plain[i]
      : `${safe(o.kind)}-${safe(o.metadata.namespace ?? '_cluster')}-${safe(o.metadata.name)}`,
  )
  // Last resort (kinds of different groups with one name): a short hash of the apiVersion.
  const nsCount = count(withNs)
  return withNs.map((n, i) => {
    if (nsCount.get(n) === 1) return `${n}.yaml`
    const tag = createHash('sha256').update(objects[i].apiVersion).digest('hex').slice(0, 8)
    return `${n}-${tag}.yaml`
  })
}

/** Objects in the stable order, each with its file name and its stable YAML text. */
export interface SerializedManifest {
  file: string
  object: KubeObject
  yaml: string
}

/** Sorts and serializes objects once, for both the folder and the single-file form. */
export function serializeManifests(objects: KubeObject[]): SerializedManifest[] {
  const sorted = sortObjects(objects.map((object) => ({ object }))).map((x) => x.object)
  const names = fileNamesFor(sorted)
  return sorted.map((object, i) => ({ file: names[i], object, yaml: toYaml(object) }))
}

/**
 * Replaces `dir` with one file per object. The folder is written beside the target and renamed into
 * place, so a failure leaves the old folder (or nothing) behind, never a mix. An existing folder is
 * replaced only if it holds nothing but manifest files (an earlier render).
 */
export async function writeManifestFolder(
  dir: string,
  manifests: SerializedManifest[],
): Promise<void> {
  await checkReplaceableFolder(dir)
  await fs.mkdir(dirname(dir), { recursive: true })
  const tmp = await fs.mkdtemp(join(dirname(dir), `.${basename(dir)}.tmp-`))
  try {
    await Promise.all(manifests.map((m) => fs.writeFile(join(tmp, m.file), m.yaml)))
    await fs.rm(dir, { recursive: true, force: true })
    await fs.rename(tmp, dir)
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true })
    throw e
  }
}

/** The single-file form: every object as one multi-document text. */
export function manifestStream(manifests: SerializedManifest[]): string {
  return manifests.map((m) => `---\n${m.yaml}`).join('')
}

/** Writes a file atomically (a temp file renamed into place). */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await fs.mkdir(dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  await fs.writeFile(tmp, text)
  await fs.rename(tmp, file)
}

/** Refuses an output folder that is a file, or holds anything but manifests (it is replaced wholly). */
export async function checkReplaceableFolder(dir: string): Promise<void> {
  if (!existsSync(dir)) return
  const stat = await fs.stat(dir)
  if (!stat.isDirectory()) {
    throw new ConfigurationError(`output-dir ${dir} exists and is not a folder`)
  }
  const entries = await fs.readdir(dir, { withFileTypes: true })
  const foreign = entries.filter((e) => !(e.isFile() && MANIFEST_FILE.test(e.name)))
  if (foreign.length > 0) {
    throw new ConfigurationError(
      `output-dir ${dir} holds other things than manifests (${foreign
        .slice(0, 3)
        .map((e) => e.name)
        .join(', ')}); the folder is replaced wholly, so point output-dir at a new or empty folder`,
    )
  }
}

/**
 * Refuses an output file that render did not write: it is replaced wholly, so an existing one must be a
 * regular file (not a symlink, which may lead anywhere, nor a folder) holding only Kubernetes objects.
 * An empty file is fine. Its content is never quoted.
 */
export async function checkReplaceableFile(file: string): Promise<void> {
  let stat
  try {
    stat = await fs.lstat(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const elsewhere = 'point output-file elsewhere (it is replaced wholly)'
  if (stat.isSymbolicLink()) {
    throw new ConfigurationError(`output-file ${file} is a symlink; ${elsewhere}`)
  }
  if (stat.isDirectory())
    throw new ConfigurationError(`output-file ${file} is a folder; ${elsewhere}`)
  if (!stat.isFile() || !(await isManifestStream(file))) {
    throw new ConfigurationError(
      `output-file ${file} exists and is not a manifest file render wrote; ${elsewhere}`,
    )
  }
}

/** True when the file parses as YAML documents that are all Kubernetes objects (or none). */
async function isManifestStream(file: string): Promise<boolean> {
  try {
    const docs = parseManifestText(await fs.readFile(file, 'utf8'), file)
    return docs.every(
      ({ value }) =>
        typeof value.apiVersion === 'string' &&
        typeof value.kind === 'string' &&
        typeof (value.metadata as { name?: unknown } | undefined)?.name === 'string',
    )
  } catch {
    return false
  }
}

/** True when `inner` is `outer` or lies inside it. */
export function isInside(inner: string, outer: string): boolean {
  const rel = relative(resolve(outer), resolve(inner))
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'))
}

/**
 * Reads every `*.yaml`/`*.yml` file of a folder (not recursive), sorted by name. Subfolders and other
 * files are refused: a manifests folder holds manifests only.
 */
export async function readManifestFolder(
  dir: string,
  options: { skip?: string[] } = {},
): Promise<LoadedDocument[]> {
  let entries
  try {
    entries = await fs.readdir(dir, { withFileTypes: true })
  } catch {
    throw new ConfigurationError(`manifests folder ${dir} does not exist or cannot be read`)
  }
  const docs: LoadedDocument[] = []
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.') || options.skip?.includes(entry.name)) continue
    if (!entry.isFile() || !MANIFEST_FILE.test(entry.name)) {
      throw new ConfigurationError(
        `${join(dir, entry.name)}: a manifests folder holds only *.yaml files, one object each`,
      )
    }
    const file = join(dir, entry.name)
    const text = decodeUtf8(await fs.readFile(file), file)
    docs.push(...parseManifestText(text, file))
  }
  return docs
}
