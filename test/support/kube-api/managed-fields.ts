/**
 * Field ownership (`metadata.managedFields`): one entry per manager, operation and subresource, each
 * holding the set of field paths that manager set.
 */
import { deepEqual, type KubeObject, type ManagedFieldsEntry } from './json.js'
import { changedPaths, FieldSet, FieldType, getAt, type FieldPath } from './field-paths.js'

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
  /** The apiVersion the manager wrote in (shown in conflict messages of Update managers). */
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

/** True if the write removed what `path` names: it was in `before` and is not in `after`. */
function removed(path: FieldPath, before: KubeObject | undefined, after: KubeObject): boolean {
  return before !== undefined && getAt(before, path).found && !getAt(after, path).found
}

/**
 * Back to `managedFields`: what the write (`before` to `after`) removed leaves every set (except
 * `exempt`'s, an applier's set being exactly what it applied), empty entries vanish, and an entry's
 * `time` moves only when its fields changed (so an unchanged re-apply is a no-op).
 */
export function writeOwners(
  owners: Owner[],
  before: KubeObject | undefined,
  after: KubeObject,
  previous: Owner[],
  now: string,
  exempt?: Owner,
): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = []
  for (const owner of owners) {
    if (owner !== exempt) {
      for (const path of [...owner.fields]) {
        if (removed(path, before, after)) owner.fields.delete(path)
      }
    }
    if (owner.fields.size === 0) continue
    const fieldsV1 = owner.fields.toFieldsV1()
    const earlier = previous.find(
      (p) =>
        p.entry.manager === owner.entry.manager &&
        p.entry.operation === owner.entry.operation &&
        p.entry.subresource === owner.entry.subresource,
    )
    const unchanged =
      earlier &&
      deepEqual(earlier.entry.fieldsV1, fieldsV1) &&
      earlier.entry.apiVersion === owner.entry.apiVersion
    out.push({ ...owner.entry, time: unchanged ? earlier.entry.time : now, fieldsV1 })
  }
  // The server's order: Apply entries before Update ones, then oldest first, then by manager.
  const key = (e: ManagedFieldsEntry) => [
    e.operation,
    e.time.slice(0, 19),
    e.manager,
    e.apiVersion,
    e.subresource ?? '',
  ]
  return out.sort((a, b) => {
    const [ka, kb] = [key(a), key(b)]
    const i = ka.findIndex((v, n) => v !== kb[n])
    return i < 0 ? 0 : ka[i] < kb[i] ? -1 : 1
  })
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
 * Ownership after an update (create, PUT or a non-apply PATCH): the writer takes every path it added or
 * changed (see `changedPaths`), every other manager loses those (updates never conflict), and what the
 * update removed leaves every set. `base` is the managedFields to start from: the stored ones, or what
 * the client sent along. `zero` is the kind's zero-value paths; `ignored(path)` says which paths this
 * endpoint does not track (status on the main resource of a kind with a status subresource); `type` is
 * the objects' field type.
 */
export function ownershipAfterUpdate(
  base: ManagedFieldsEntry[] | undefined,
  before: KubeObject | undefined,
  after: KubeObject,
  writer: Writer,
  zero?: ReadonlySet<string>,
  ignored: (path: FieldPath) => boolean = () => false,
  type = FieldType.builtin(),
): ManagedFieldsEntry[] {
  const previous = readOwners(base)
  const owners = readOwners(base)
  const changed = changedPaths(before, after, zero, type).filter((p) => !ignored(p))
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
  return writeOwners(owners, before, after, previous, writer.now)
}
