/**
 * Field paths for managed fields, in the element spelling of `fieldsV1`: `f:spec` (a map field),
 * `k:{"name":"app"}` (a list item by its key), `v:"example.com/x"` (a value of a set list). Without
 * schemas, the shape of a field is a guess by its name (see `LIST_KEYS`, `ATOMIC_FIELDS`): keyed lists
 * merge item by item, atomic maps and every other list are owned and replaced whole, as most lists are
 * in Kubernetes.
 */
import { deepEqual, isPlainObject, type FieldsV1, type KubeObject } from './json.js'

/** A path from the object's root, e.g. `['f:spec', 'f:replicas']`. */
export type FieldPath = string[]

/**
 * List keys by list field name, candidates in order (the first one every item carries wins). Any
 * other list of objects that all carry a unique `name` is keyed by `name`.
 */
const LIST_KEYS: Record<string, string[][]> = {
  ports: [
    ['containerPort', 'protocol'],
    ['port', 'protocol'],
  ],
  volumeMounts: [['mountPath']],
  volumeDevices: [['devicePath']],
  conditions: [['type']],
  ownerReferences: [['uid']],
  hostAliases: [['ip']],
}

/** Key fields the real schema defaults: an item that leaves them out is keyed with the default. */
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' }

/**
 * Fields the real schema makes atomic (owned and replaced whole, `+structType=atomic`,
 * `+mapType=atomic`, `+listType=atomic`): label selectors, `selector`/`nodeSelector` maps, references.
 */
const ATOMIC_FIELDS = new Set([
  'selector',
  'nodeSelector',
  'podSelector',
  'namespaceSelector',
  'labelSelector',
  'roleRef',
  'configMapKeyRef',
  'secretKeyRef',
  'fieldRef',
  'resourceFieldRef',
  'scaleTargetRef',
  // CustomResourceDefinition versions: a list of named items, but atomic.
  'versions',
])

/** Keyed lists whose items are atomic (an OwnerReference is owned whole). */
const ATOMIC_ITEMS = new Set(['ownerReferences'])

/** Set lists (`+listType=set`): each value is owned on its own, as `v:<value>`. */
const SET_PATHS = new Set([JSON.stringify(['f:metadata', 'f:finalizers'])])

/** Metadata that is the object's identity or the server's, never owned by a field manager. */
const SYSTEM_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
])

/** A key field's value in an item (the schema's default when the item leaves a defaulted key out). */
function keyValue(item: Record<string, unknown>, key: string): unknown {
  return item[key] ?? KEY_DEFAULTS[key]
}

/**
 * The key fields a server-side-apply list is keyed by (`name` for containers, env and volumes,
 * `containerPort`+`protocol` for container ports, …) or undefined for an atomic list. Every given list
 * must hold only objects whose keys are scalars, unique within the list.
 */
export function listKeysFor(
  field: string | undefined,
  ...lists: unknown[][]
): string[] | undefined {
  if (field && ATOMIC_FIELDS.has(field)) return undefined
  const candidates = (field && LIST_KEYS[field]) || [['name']]
  const items = lists.flat()
  if (items.length === 0 || !items.every(isPlainObject)) return undefined
  return candidates.find((keys) =>
    lists.every((list) => {
      const ids = (list as Record<string, unknown>[]).map((item) => {
        const values = keys.map((k) => keyValue(item, k))
        return values.every((v) => ['string', 'number', 'boolean'].includes(typeof v))
          ? JSON.stringify(values)
          : undefined
      })
      return ids.every((id) => id !== undefined) && new Set(ids).size === ids.length
    }),
  )
}

/**
 * The single field a strategic merge patch merges a list by (its `patchMergeKey`: `containerPort` for
 * container ports, `name` for containers), or undefined for a list it replaces.
 */
export function patchMergeKey(
  field: string | undefined,
  ...lists: unknown[][]
): string | undefined {
  const candidates = ((field && LIST_KEYS[field]) || [['name']]).map((keys) => keys[0])
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

/** True when two items of a list keyed by `keys` are the same item. */
export function sameItem(keys: string[], a: unknown, b: unknown): boolean {
  return (
    isPlainObject(a) &&
    isPlainObject(b) &&
    keys.every((k) => deepEqual(keyValue(a, k), keyValue(b, k)))
  )
}

/** The `k:` element naming an item of a list keyed by `keys` (key fields sorted, as the server writes). */
export function itemElement(keys: string[], item: Record<string, unknown>): string {
  const key: Record<string, unknown> = {}
  for (const k of [...keys].sort()) key[k] = keyValue(item, k)
  return `k:${JSON.stringify(key)}`
}

/** How a list merges: by the key fields of its items, as a set of values, or whole. */
type ListKind = { kind: 'keyed'; keys: string[] } | { kind: 'set' } | { kind: 'atomic' }

type Schema = Record<string, any>

function schemaNode(value: unknown): Schema | undefined {
  return isPlainObject(value) ? value : undefined
}

/**
 * A field's type, as far as ownership and merging need it. Built-in kinds have no schema here: their
 * shapes are guessed by field name (`LIST_KEYS`, `ATOMIC_FIELDS`…). Custom resources follow their CRD's
 * OpenAPI schema as the real server does: `properties` are struct fields, anything else (additional or
 * preserved unknown fields) map elements, lists atomic unless `x-kubernetes-list-type` says `map` (with
 * `x-kubernetes-list-map-keys`) or `set`, maps granular unless `x-kubernetes-map-type: atomic`.
 */
export class FieldType {
  private constructor(
    private readonly mode: 'guess' | 'schema',
    /** The field's name (guesses go by it). */
    private readonly field: string | undefined,
    /** Its path from the root (sets are guessed by path). */
    private readonly path: FieldPath,
    /** The OpenAPI schema (schema mode; undefined: untyped, anything goes). */
    private readonly schema?: Schema,
  ) {}

  /** The type of a built-in kind's objects. */
  static builtin(): FieldType {
    return new FieldType('guess', undefined, [])
  }

  /** The type of a custom resource whose CRD version has this `openAPIV3Schema`. */
  static customResource(openAPIV3Schema: unknown): FieldType {
    return new FieldType('schema', undefined, [], schemaNode(openAPIV3Schema))
  }

  /** The type of map field `key`. */
  child(key: string): FieldType {
    const path = [...this.path, `f:${key}`]
    // Metadata is ObjectMeta, whatever the object.
    if (this.mode === 'guess' || (this.path.length === 0 && key === 'metadata')) {
      return new FieldType('guess', key, path)
    }
    const declared = schemaNode(schemaNode(this.schema?.properties)?.[key])
    return new FieldType(
      'schema',
      key,
      path,
      declared ?? schemaNode(this.schema?.additionalProperties),
    )
  }

  /** The type of a list's items. */
  item(): FieldType {
    const path = [...this.path, 'i:*']
    return this.mode === 'guess'
      ? new FieldType('guess', undefined, path)
      : new FieldType('schema', undefined, path, schemaNode(this.schema?.items))
  }

  /**
   * True for a declared field of a struct (an apply owns what is in it, not the field itself); false
   * for an element of a map (owned itself too: the `.` of fieldsV1).
   */
  declares(key: string): boolean {
    if (this.mode === 'guess') return true
    if (this.path.length === 0 && ['apiVersion', 'kind', 'metadata'].includes(key)) return true
    const properties = schemaNode(this.schema?.properties)
    return properties !== undefined && key in properties
  }

  /** True for a map owned and replaced whole. */
  atomicMap(): boolean {
    return this.mode === 'guess'
      ? this.field !== undefined && ATOMIC_FIELDS.has(this.field)
      : this.schema?.['x-kubernetes-map-type'] === 'atomic'
  }

  /** True when the items of a keyed list here are owned whole. */
  atomicItems(): boolean {
    return this.mode === 'guess'
      ? this.field !== undefined && ATOMIC_ITEMS.has(this.field)
      : this.item().atomicMap()
  }

  /** How the given list (or lists, to be merged) at this field merge. */
  list(...lists: unknown[][]): ListKind {
    const scalars = lists.flat().every((v) => ['string', 'number', 'boolean'].includes(typeof v))
    if (this.mode === 'guess') {
      if (this.field !== undefined && ATOMIC_FIELDS.has(this.field)) return { kind: 'atomic' }
      if (scalars && SET_PATHS.has(JSON.stringify(this.path))) return { kind: 'set' }
      const keys = listKeysFor(this.field, ...lists)
      return keys ? { kind: 'keyed', keys } : { kind: 'atomic' }
    }
    const type: unknown = this.schema?.['x-kubernetes-list-type']
    if (type === 'set' && scalars) return { kind: 'set' }
    const keys: unknown = this.schema?.['x-kubernetes-list-map-keys']
    if (type === 'map' && Array.isArray(keys) && keys.length > 0) {
      const names = keys.map(String)
      const valid = lists.every((list) => {
        const ids = list.map((item) =>
          isPlainObject(item) ? JSON.stringify(names.map((k) => item[k])) : undefined,
        )
        return ids.every((id) => id !== undefined) && new Set(ids).size === ids.length
      })
      if (valid) return { kind: 'keyed', keys: names }
    }
    return { kind: 'atomic' }
  }
}

/** How a value is tracked: as one leaf, a map of fields, a keyed list of items or a set of values. */
type Shape =
  { kind: 'leaf' } | { kind: 'map' } | { kind: 'keyed'; keys: string[] } | { kind: 'set' }

function shapeOf(value: unknown, type: FieldType): Shape {
  if (isPlainObject(value)) {
    return Object.keys(value).length === 0 || type.atomicMap() ? { kind: 'leaf' } : { kind: 'map' }
  }
  if (Array.isArray(value) && value.length > 0) {
    const list = type.list(value)
    if (list.kind !== 'atomic') return list
  }
  return { kind: 'leaf' }
}

/** The `v:` element naming a value of a set list. */
function valueElement(value: unknown): string {
  return `v:${JSON.stringify(value)}`
}

/** Calls `visit(value, path, type)` for the owned top-level fields of an object (identity left out). */
function eachTopField(
  object: KubeObject,
  root: FieldType,
  visit: (value: unknown, path: FieldPath, type: FieldType, owner: FieldType, key: string) => void,
): void {
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || value === undefined) continue
    if (key === 'metadata' && isPlainObject(value)) {
      const meta = root.child('metadata')
      for (const [mkey, mvalue] of Object.entries(value)) {
        if (!SYSTEM_METADATA.has(mkey) && mvalue !== undefined) {
          visit(mvalue, ['f:metadata', `f:${mkey}`], meta.child(mkey), meta, mkey)
        }
      }
      continue
    }
    visit(value, [`f:${key}`], root.child(key), root, key)
  }
}

/**
 * The paths an applied configuration sets (structured-merge-diff's `ToFieldSet`): scalars, atomic
 * lists and maps, empty maps, each keyed list item (the item itself, written `.` inside it in fieldsV1)
 * with its fields, each value of a set list, and each element of a map that is not a struct (a custom
 * resource's unknown fields). apiVersion, kind and identity metadata are left out, as the real server
 * leaves them out.
 */
export function fieldPaths(object: KubeObject, root = FieldType.builtin()): FieldPath[] {
  const out: FieldPath[] = []
  const walk = (
    value: unknown,
    path: FieldPath,
    type: FieldType,
    owner: FieldType,
    key: string,
  ): void => {
    const shape = shapeOf(value, type)
    if (shape.kind !== 'leaf' && !owner.declares(key)) out.push(path)
    if (shape.kind === 'map') {
      for (const [k, child] of Object.entries(value as Record<string, unknown>)) {
        if (child !== undefined) walk(child, [...path, `f:${k}`], type.child(k), type, k)
      }
    } else if (shape.kind === 'keyed') {
      const itemType = type.item()
      for (const item of value as Record<string, unknown>[]) {
        const itemPath = [...path, itemElement(shape.keys, item)]
        out.push(itemPath)
        if (type.atomicItems()) continue
        for (const [k, child] of Object.entries(item)) {
          if (child !== undefined)
            walk(child, [...itemPath, `f:${k}`], itemType.child(k), itemType, k)
        }
      }
    } else if (shape.kind === 'set') {
      for (const v of value as unknown[]) out.push([...path, valueElement(v)])
    } else {
      out.push(path)
    }
  }
  eachTopField(object, root, walk)
  return out
}

/**
 * The paths an update (create, PUT or a non-apply PATCH) sets (structured-merge-diff's `Compare`, the
 * added and modified parts): every field, map, list or item `after` has and `before` had not (a new map
 * or list is owned itself, the `.` of fieldsV1, as well as its content), and every leaf whose value
 * changed. `zero` holds the paths (as `JSON.stringify(path)`) that the kind's Go zero value always has
 * (`spec`, `spec.template`, …): they exist before any write, so a write never adds them.
 */
export function changedPaths(
  before: KubeObject | undefined,
  after: KubeObject,
  zero: ReadonlySet<string> = new Set(),
  root = FieldType.builtin(),
): FieldPath[] {
  const out: FieldPath[] = []
  const isContainer = (v: unknown) => isPlainObject(v) || Array.isArray(v)
  const isEmpty = (v: unknown) =>
    (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0)
  const childOf = (holder: unknown, key: string) =>
    isPlainObject(holder) && holder[key] !== undefined
      ? { found: true, value: holder[key] }
      : { found: false }
  const walk = (
    value: unknown,
    path: FieldPath,
    type: FieldType,
    was: { found: boolean; value?: unknown },
  ): void => {
    const existed = was.found || zero.has(JSON.stringify(path))
    const shape = shapeOf(value, type)
    if (shape.kind === 'leaf') {
      if (!was.found) out.push(path)
      // A map or list emptied only loses its content: nobody takes the empty value.
      else if (isEmpty(value) && isContainer(was.value) && !isEmpty(was.value)) return
      else if (!deepEqual(value, was.value)) out.push(path)
      return
    }
    if (!existed) out.push(path)
    const previous = was.found && Array.isArray(was.value) ? (was.value as unknown[]) : []
    if (shape.kind === 'map') {
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined) continue
        walk(v, [...path, `f:${key}`], type.child(key), was.found ? childOf(was.value, key) : was)
      }
    } else if (shape.kind === 'keyed') {
      const itemType = type.item()
      for (const item of value as Record<string, unknown>[]) {
        const itemPath = [...path, itemElement(shape.keys, item)]
        const old = previous.find((p) => sameItem(shape.keys, p, item))
        if (type.atomicItems()) {
          if (!old || !deepEqual(old, item)) out.push(itemPath)
          continue
        }
        if (!old) out.push(itemPath)
        for (const [key, v] of Object.entries(item)) {
          if (v !== undefined)
            walk(v, [...itemPath, `f:${key}`], itemType.child(key), childOf(old, key))
        }
      }
    } else {
      for (const v of value as unknown[]) {
        if (!previous.some((p) => deepEqual(p, v))) out.push([...path, valueElement(v)])
      }
    }
  }
  eachTopField(after, root, (value, path, type) =>
    walk(value, path, type, getAt(before ?? {}, path)),
  )
  return out
}

/** Finds the child a path element names: a map field, a keyed list item or a set value. */
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
      (it) =>
        isPlainObject(it) && Object.entries(key).every(([k, v]) => deepEqual(keyValue(it, k), v)),
    )
    return item === undefined ? { found: false } : { found: true, value: item }
  }
  if (element.startsWith('v:') && Array.isArray(value)) {
    const wanted = JSON.parse(element.slice(2)) as unknown
    const found = value.some((v) => deepEqual(v, wanted))
    return found ? { found: true, value: wanted } : { found: false }
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

/** Removes the field, list item or set value at `path` (in place); a missing path is left alone. */
export function removeAt(object: unknown, path: FieldPath): void {
  if (path.length === 0) return
  const parent = getAt(object, path.slice(0, -1))
  if (!parent.found) return
  const last = path[path.length - 1]
  if (last.startsWith('f:') && isPlainObject(parent.value)) {
    delete parent.value[last.slice(2)]
  } else if (Array.isArray(parent.value)) {
    const list = parent.value
    const item = step(list, last)
    if (!item.found) return
    const at = last.startsWith('v:')
      ? list.findIndex((v) => deepEqual(v, item.value))
      : list.indexOf(item.value)
    if (at >= 0) list.splice(at, 1)
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

  /**
   * The `fieldsV1` trie of this set: a path that is owned itself and has owned paths under it (a keyed
   * item, or a map or list an update created) is written as `.` inside its node. Keys are sorted, as
   * the real server writes them.
   */
  toFieldsV1(): FieldsV1 {
    const root: FieldsV1 = {}
    for (const path of this.paths.values()) {
      let node = root
      for (const element of path) node = node[element] ??= {}
    }
    for (const path of this.paths.values()) {
      const node = path.reduce((n, element) => n[element], root)
      if (Object.keys(node).some((k) => k !== '.')) node['.'] = {}
    }
    const sorted = (node: FieldsV1): FieldsV1 =>
      Object.fromEntries(
        Object.keys(node)
          .sort()
          .map((k) => [k, sorted(node[k])]),
      )
    return sorted(root)
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

/** structured-merge-diff's order of path elements: fields, then keys, then values, then indexes. */
function compareElements(a: string, b: string): number {
  const rank = (e: string) => ['f:', 'k:', 'v:', 'i:'].indexOf(e.slice(0, 2))
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)
}

/**
 * The order the real server lists paths in (a set's iteration: at each level the paths that end there
 * come before those that go deeper, each group sorted).
 */
export function comparePaths(a: FieldPath, b: FieldPath): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const deeper = Number(i < a.length - 1) - Number(i < b.length - 1)
    if (deeper !== 0) return deeper
    const c = compareElements(a[i], b[i])
    if (c !== 0) return c
  }
  return a.length - b.length
}

/** `.spec.template.spec.containers[name="app"].image`: the spelling of conflict messages. */
export function formatPath(path: FieldPath): string {
  return path
    .map((element) => {
      if (element.startsWith('f:')) return `.${element.slice(2)}`
      if (element.startsWith('i:')) return `[${element.slice(2)}]`
      if (element.startsWith('v:')) return `[=${element.slice(2)}]`
      const key = JSON.parse(element.slice(2)) as Record<string, unknown>
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`
    })
    .join('')
}
