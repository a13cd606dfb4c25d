/** Small helpers for JSON values: objects are plain data, copied and compared by value. */

/** A Kubernetes object's metadata (only what the server itself reads or writes is typed). */
export interface ObjectMeta {
  name?: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  finalizers?: string[]
  ownerReferences?: OwnerReference[]
  managedFields?: ManagedFieldsEntry[]
  [key: string]: unknown
}

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

/** One `metadata.managedFields` entry, as the real API server writes it. */
export interface ManagedFieldsEntry {
  manager: string
  operation: 'Apply' | 'Update'
  apiVersion: string
  time: string
  fieldsType: 'FieldsV1'
  fieldsV1: FieldsV1
  subresource?: string
}

/** The `fieldsV1` trie: `f:<field>`, `k:<json key>` or `i:<index>` children, `.` for "this item itself". */
export interface FieldsV1 {
  [element: string]: FieldsV1
}

/** A Kubernetes object as JSON. Tests poke into it freely, hence `any` for everything but metadata. */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
  [key: string]: any
}

/** `value` if it is a list, else an empty list (for reading optional JSON lists). */
export function asList(value: unknown): any[] {
  return Array.isArray(value) ? value : []
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A deep copy (objects are stored and handed out as copies, so no caller can change the store). */
export function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value)
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined)
    const kb = Object.keys(b).filter((k) => b[k] !== undefined)
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]))
  }
  return false
}

/** The object without the given top-level keys (a shallow copy). */
export function without<T extends object>(value: T, ...keys: string[]): Partial<T> {
  const out = { ...value } as Record<string, unknown>
  for (const key of keys) delete out[key]
  return out as Partial<T>
}

/** RFC 3339 at second precision, as Kubernetes writes timestamps. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
