/**
 * Server-side apply: merging a manager's applied configuration into the live object, with conflicts
 * against other managers and removal of fields the manager stopped applying.
 *
 * The rules (structured-merge-diff's, without schemas):
 * - maps merge; keyed lists merge by key, sets by value; atomic maps (selectors, references), other
 *   lists and scalars are replaced (see `FieldType` for which is which);
 * - the manager's new field set is exactly the fields its configuration sets;
 * - a field another manager owns with a different value is a conflict, unless `force` moves it;
 * - a field the manager owned before, no longer applies, and nobody else owns is removed.
 */
import { ApiError } from './errors.js'
import {
  clone,
  deepEqual,
  isPlainObject,
  type KubeObject,
  type ManagedFieldsEntry,
} from './json.js'
import {
  comparePaths,
  FieldSet,
  fieldPaths,
  FieldType,
  formatPath,
  getAt,
  removeAt,
  sameItem,
  type FieldPath,
} from './field-paths.js'
import { isWriter, newOwner, readOwners, writeOwners, type Writer } from './managed-fields.js'

/** Drops `null`s: in an applied configuration they mean "not set by me". */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(withoutNulls)
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v)
    return out
  }
  return value
}

/** `applied` merged over `live` (both left untouched), as fields of `type`. */
export function mergeApplied(live: unknown, applied: unknown, type = FieldType.builtin()): unknown {
  if (isPlainObject(live) && isPlainObject(applied) && !type.atomicMap()) {
    const out: Record<string, unknown> = { ...live }
    for (const [k, v] of Object.entries(applied)) out[k] = mergeApplied(live[k], v, type.child(k))
    return out
  }
  if (Array.isArray(live) && Array.isArray(applied)) {
    const list = type.list(live, applied)
    // A set: the applied values in their order, then values other managers keep.
    if (list.kind === 'set') {
      return [...clone(applied), ...live.filter((v) => !applied.some((a) => deepEqual(a, v)))]
    }
    if (list.kind === 'keyed') {
      // The applied items in their order, then items other managers keep.
      const merged = applied.map((item) => {
        const match = live.find((l) => sameItem(list.keys, l, item))
        return match && !type.atomicItems() ? mergeApplied(match, item, type.item()) : clone(item)
      })
      for (const item of live) {
        if (!applied.some((a) => sameItem(list.keys, a, item))) merged.push(clone(item))
      }
      return merged
    }
  }
  return clone(applied)
}

interface Conflict {
  owner: ManagedFieldsEntry
  path: FieldPath
}

/**
 * How a conflict message names a manager (apimachinery's `printManager`): an Apply manager by its name,
 * an Update manager with the apiVersion it wrote (`"kubectl-edit" using apps/v1`).
 */
function describeManager(entry: ManagedFieldsEntry): string {
  let who = JSON.stringify(entry.manager)
  if (entry.subresource) who += ` with subresource ${JSON.stringify(entry.subresource)}`
  return entry.operation === 'Update' ? `${who} using ${entry.apiVersion}` : who
}

/**
 * The 409 kubectl shows as `Apply failed with 1 conflict: conflict with "helm" using apps/v1: .spec.x`;
 * with more, grouped by manager in the server's order (by manager, then operation).
 */
function conflictError(conflicts: Conflict[]): ApiError {
  const identity = (e: ManagedFieldsEntry) =>
    JSON.stringify([
      e.manager,
      e.operation,
      e.operation === 'Update' ? e.apiVersion : '',
      e.subresource ?? '',
    ])
  const byManager = new Map<string, Conflict[]>()
  for (const c of conflicts)
    byManager.set(identity(c.owner), [...(byManager.get(identity(c.owner)) ?? []), c])
  const groups = [...byManager]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, list]) => list.sort((a, b) => comparePaths(a.path, b.path)))
  const n = conflicts.length
  const message =
    n === 1
      ? `Apply failed with 1 conflict: conflict with ${describeManager(conflicts[0].owner)}: ${formatPath(conflicts[0].path)}`
      : `Apply failed with ${n} conflicts: ${groups
          .map(
            (list) =>
              `conflicts with ${describeManager(list[0].owner)}:\n${list.map((c) => `- ${formatPath(c.path)}`).join('\n')}`,
          )
          .join('\n')}`
  return new ApiError(409, 'Conflict', message, {
    causes: groups.flat().map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${describeManager(c.owner)}`,
      field: formatPath(c.path),
    })),
  })
}

/**
 * Applies `config` for `writer` (operation `Apply`) over `live` (undefined when creating) and returns
 * the new object with its managedFields. Throws the 409 conflict unless `force`.
 * The caller has already restricted `config` to what the endpoint may change (no status on the main
 * resource, only status on `/status`).
 */
export function applyConfiguration(
  live: KubeObject | undefined,
  config: KubeObject,
  writer: Writer,
  force: boolean,
  type = FieldType.builtin(),
): KubeObject {
  const applied = withoutNulls(config) as KubeObject
  const current = live ?? {}
  const previous = readOwners(live?.metadata?.managedFields)
  const owners = readOwners(live?.metadata?.managedFields)
  const others = owners.filter((o) => !isWriter(o, writer))
  const newFields = new FieldSet(fieldPaths(applied, type))

  // Conflicts: another manager owns a field this configuration gives another value.
  const conflicts: Conflict[] = []
  for (const path of newFields) {
    // The item itself, or a set value: its fields, or its being there, decide.
    if (/^[kv]:/.test(path[path.length - 1])) continue
    const was = getAt(current, path)
    if (!was.found || deepEqual(was.value, getAt(applied, path).value)) continue
    for (const other of others) {
      if (!other.fields.has(path)) continue
      if (force) other.fields.delete(path)
      else conflicts.push({ owner: other.entry, path })
    }
  }
  if (conflicts.length > 0) throw conflictError(conflicts)

  // Merge, then drop what this manager let go of and nobody else holds.
  const merged = mergeApplied(current, applied, type) as KubeObject
  let mine = owners.find((o) => isWriter(o, writer))
  const dropped = [...(mine?.fields ?? [])].filter(
    (path) => !newFields.has(path) && !others.some((o) => o.fields.hasAtOrUnder(path)),
  )
  // Shallowest first: a dropped list item goes whole (with its defaulted fields, as on a real server);
  // removing its key field first would leave the item unfindable, and a keyless remnant behind.
  dropped.sort((a, b) => a.length - b.length).forEach((path) => removeAt(merged, path))

  if (!mine) {
    mine = newOwner(writer)
    owners.push(mine)
  }
  mine.entry.apiVersion = writer.apiVersion
  mine.fields = newFields
  merged.metadata = {
    ...merged.metadata,
    managedFields: writeOwners(owners, live, merged, previous, writer.now, mine),
  }
  return merged
}
