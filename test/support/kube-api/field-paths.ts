/**
 * Field paths for managed fields, in the element spelling of `fieldsV1`: `f:spec` (a map field),
 * `k:{"name":"app"}` (a list item by its merge key). Without schemas, which lists merge by key is a
 * guess by field name (see `mergeKeyFor`); every other list is atomic, as most lists are in Kubernetes.
 */
import { deepEqual, isPlainObject, type FieldsV1, type KubeObject } from './json.js'

/** A path from the object's root, e.g. `['f:spec', 'f:replicas']`. */
export type FieldPath = string[]

/** Merge keys by list field name; any other list of objects that all carry `name` merges by `name`. */
const MERGE_KEYS: Record<string, string[]> = {
  ports: ['containerPort', 'port'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
}

/**
 * The key a list merges by (`name` for containers, env and volumes, `containerPort`/`port` for ports, …)
 * or undefined for an atomic list. Every given list must hold only objects with unique scalar keys.
 */
export function mergeKeyFor(field: string | undefined, ...lists: unknown[][]): string | undefined {
  const candidates = (field && MERGE_KEYS[field]) || ['name']
  const items = lists.flat()
  if (items.length === 0 || !items.every(isPlainObject)) return undefined
  return candidates.find((key) =>
    lists.every((list) => {
      const values = list.map((item) => (item as Record<string, unknown>)[key])
      const scalar = values.every((v) => ['string', 'number', 'boolean'].includes(typeof v))
      return scalar && new Set(values).size === values.length
    }),
  )
}

/** The `k:` element naming the item of a list merged by `key`. */
export function itemElement(key: string, item: Record<string, unknown>): string {
  return `k:${JSON.stringify({ [key]: item[key] })}`
}

/** Metadata that is the object's identity or the server's, never owned by a field manager. */
const SYSTEM_METADATA = new Set([
  'name',
  'namespace',
  'generateName',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
])

/**
 * The leaf paths an object (or an applied configuration) sets: scalars, atomic lists and empty maps,
 * plus one path per keyed list item (the item itself, written `.` inside it in fieldsV1). apiVersion,
 * kind and identity metadata are left out, as the real server leaves them out.
 */
export function fieldPaths(object: KubeObject): FieldPath[] {
  const out: FieldPath[] = []
  const walk = (value: unknown, path: FieldPath, field: string | undefined): void => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) {
        if (child !== undefined) walk(child, [...path, `f:${key}`], key)
      }
      return
    }
    if (Array.isArray(value)) {
      const key = mergeKeyFor(field, value)
      if (key) {
        for (const item of value as Record<string, unknown>[]) {
          const itemPath = [...path, itemElement(key, item)]
          out.push(itemPath)
          walk(item, itemPath, undefined)
        }
        return
      }
    }
    out.push(path)
  }
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || value === undefined) continue
    if (key === 'metadata' && isPlainObject(value)) {
      for (const [mkey, mvalue] of Object.entries(value)) {
        if (!SYSTEM_METADATA.has(mkey) && mvalue !== undefined) {
          walk(mvalue, ['f:metadata', `f:${mkey}`], mkey)
        }
      }
      continue
    }
    walk(value, [`f:${key}`], key)
  }
  return out
}

/** Finds the child a path element names: a map field or a keyed list item. */
function step(value: unknown, element: string): { found: boolean; value?: unknown } {
  if (element.startsWith('f:')) {
    const key = element.slice(2)
    return isPlainObject(value) && key in value && value[key] !== undefined
      ? { found: true, value: value[key] }
      : { found: false }
  }
  if (element.startsWith('k:') && Array.isArray(value)) {
    const key = JSON.parse(element.slice(2)) as Record<string, unknown>
    const item = value.find(
      (it) => isPlainObject(it) && Object.entries(key).every(([k, v]) => deepEqual(it[k], v)),
    )
    return item === undefined ? { found: false } : { found: true, value: item }
  }
  if (element.startsWith('i:') && Array.isArray(value)) {
    const index = Number(element.slice(2))
    return index < value.length ? { found: true, value: value[index] } : { found: false }
  }
  return { found: false }
}

/** The value at `path`, with `found: false` if any step is missing. */
export function getAt(object: unknown, path: FieldPath): { found: boolean; value?: unknown } {
  let current: { found: boolean; value?: unknown } = { found: true, value: object }
  for (const element of path) {
    current = step(current.value, element)
    if (!current.found) return current
  }
  return current
}

/** Removes the field or list item at `path` (in place); a missing path is left alone. */
export function removeAt(object: unknown, path: FieldPath): void {
  if (path.length === 0) return
  const parent = getAt(object, path.slice(0, -1))
  if (!parent.found) return
  const last = path[path.length - 1]
  if (last.startsWith('f:') && isPlainObject(parent.value)) {
    delete parent.value[last.slice(2)]
  } else if (Array.isArray(parent.value)) {
    const item = step(parent.value, last)
    if (item.found) parent.value.splice(parent.value.indexOf(item.value), 1)
  }
}

/** A set of paths, compared by value. */
export class FieldSet {
  private readonly paths = new Map<string, FieldPath>()

  constructor(paths: Iterable<FieldPath> = []) {
    for (const p of paths) this.add(p)
  }

  add(path: FieldPath): void {
    this.paths.set(JSON.stringify(path), path)
  }

  delete(path: FieldPath): void {
    this.paths.delete(JSON.stringify(path))
  }

  has(path: FieldPath): boolean {
    return this.paths.has(JSON.stringify(path))
  }

  /** True if the set holds `path` or anything under it. */
  hasAtOrUnder(path: FieldPath): boolean {
    const prefix = JSON.stringify(path).slice(0, -1)
    return [...this.paths.keys()].some((k) => k === `${prefix}]` || k.startsWith(`${prefix},`))
  }

  get size(): number {
    return this.paths.size
  }

  [Symbol.iterator](): Iterator<FieldPath> {
    return this.paths.values()
  }

  /** The `fieldsV1` trie of this set. */
  toFieldsV1(): FieldsV1 {
    const root: FieldsV1 = {}
    for (const path of this.paths.values()) {
      let node = root
      for (const element of path) node = node[element] ??= {}
      // A keyed item (rather than one of its fields) is owned as `.` inside the item.
      if (path[path.length - 1]?.startsWith('k:')) node['.'] = {}
    }
    return root
  }

  static fromFieldsV1(fields: FieldsV1 | undefined): FieldSet {
    const set = new FieldSet()
    const walk = (node: FieldsV1, path: FieldPath): void => {
      for (const [element, child] of Object.entries(node)) {
        if (element === '.') set.add(path)
        else if (!isPlainObject(child) || Object.keys(child).length === 0)
          set.add([...path, element])
        else walk(child, [...path, element])
      }
    }
    if (isPlainObject(fields)) walk(fields, [])
    return set
  }
}

/** `.spec.template.spec.containers[name="app"].image`: the spelling of conflict messages. */
export function formatPath(path: FieldPath): string {
  return path
    .map((element) => {
      if (element.startsWith('f:')) return `.${element.slice(2)}`
      if (element.startsWith('i:')) return `[${element.slice(2)}]`
      const key = JSON.parse(element.slice(2)) as Record<string, unknown>
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`
    })
    .join('')
}
