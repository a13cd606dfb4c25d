/**
 * Field ownership (`metadata.managedFields`): one entry per manager, operation and subresource, each
 * holding the set of field paths that manager last set.
 */
import { deepEqual, type KubeObject, type ManagedFieldsEntry } from './json.js'
import { FieldSet, fieldPaths, getAt } from './field-paths.js'

/** An entry with its field set unpacked. */
export interface Owner {
  entry: ManagedFieldsEntry
  fields: FieldSet
}

/** Who a write is from: the `fieldManager`, the operation and the subresource written. */
export interface Writer {
  manager: string
  operation: 'Apply' | 'Update'
  subresource?: string
  /** The apiVersion the manager wrote in (shown in conflict messages). */
  apiVersion: string
  /** The timestamp for entries that change. */
  now: string
}

export function readOwners(entries: ManagedFieldsEntry[] | undefined): Owner[] {
  return (entries ?? []).map((entry) => ({ entry, fields: FieldSet.fromFieldsV1(entry.fieldsV1) }))
}

export function isWriter(owner: Owner, writer: Writer): boolean {
  return (
    owner.entry.manager === writer.manager &&
    owner.entry.operation === writer.operation &&
    (owner.entry.subresource ?? '') === (writer.subresource ?? '')
  )
}

/**
 * Back to `managedFields`: paths that no longer exist in `object` are dropped, empty entries vanish,
 * and an entry's `time` moves only when its fields changed (so an unchanged re-apply is a no-op).
 */
export function writeOwners(owners: Owner[], object: KubeObject, previous: Owner[], now: string) {
  const out: ManagedFieldsEntry[] = []
  for (const owner of owners) {
    for (const path of [...owner.fields]) {
      if (!getAt(object, path).found) owner.fields.delete(path)
    }
    if (owner.fields.size === 0) continue
    const fieldsV1 = owner.fields.toFieldsV1()
    const before = previous.find(
      (p) =>
        p.entry.manager === owner.entry.manager &&
        p.entry.operation === owner.entry.operation &&
        p.entry.subresource === owner.entry.subresource,
    )
    const unchanged =
      before &&
      deepEqual(before.entry.fieldsV1, fieldsV1) &&
      before.entry.apiVersion === owner.entry.apiVersion
    out.push({ ...owner.entry, time: unchanged ? before.entry.time : now, fieldsV1 })
  }
  return out
}

/** A new, empty entry for a writer. */
export function newOwner(writer: Writer): Owner {
  const entry: ManagedFieldsEntry = {
    manager: writer.manager,
    operation: writer.operation,
    apiVersion: writer.apiVersion,
    time: writer.now,
    fieldsType: 'FieldsV1',
    fieldsV1: {},
  }
  if (writer.subresource) entry.subresource = writer.subresource
  return { entry, fields: new FieldSet() }
}

/**
 * Ownership after an update (create, PUT or a non-apply PATCH): the writer takes every field whose value
 * it changed, and every other manager loses those fields (updates never conflict).
 * `base` is the managedFields to start from: the stored ones, or what the client sent along.
 */
export function ownershipAfterUpdate(
  base: ManagedFieldsEntry[] | undefined,
  before: KubeObject | undefined,
  after: KubeObject,
  writer: Writer,
): ManagedFieldsEntry[] {
  const previous = readOwners(base)
  const owners = readOwners(base)
  const changed = fieldPaths(after).filter((path) => {
    const old = before ? getAt(before, path) : { found: false }
    return !old.found || !deepEqual(old.value, getAt(after, path).value)
  })
  for (const owner of owners) {
    if (!isWriter(owner, writer)) changed.forEach((p) => owner.fields.delete(p))
  }
  let mine = owners.find((o) => isWriter(o, writer))
  if (!mine && changed.length > 0) {
    mine = newOwner(writer)
    owners.push(mine)
  }
  if (mine) {
    mine.entry.apiVersion = writer.apiVersion
    changed.forEach((p) => mine.fields.add(p))
  }
  return writeOwners(owners, after, previous, writer.now)
}
