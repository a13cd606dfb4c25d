/**
 * Server-side apply: merging a manager's applied configuration into the live object, with conflicts
 * against other managers and removal of fields the manager stopped applying.
 *
 * The rules (structured-merge-diff's, without schemas):
 * - maps merge; lists with a merge key (see `mergeKeyFor`) merge by key; other lists and scalars are
 *   replaced;
 * - the manager's new field set is exactly the fields its configuration sets;
 * - a field another manager owns with a different value is a conflict, unless `force` moves it;
 * - a field the manager owned before, no longer applies, and nobody else owns is removed.
 */
import { ApiError } from './errors.js'
import { clone, deepEqual, isPlainObject, type KubeObject } from './json.js'
import {
  FieldSet,
  fieldPaths,
  formatPath,
  getAt,
  mergeKeyFor,
  removeAt,
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

/** `applied` merged over `live` (both left untouched). */
export function mergeApplied(live: unknown, applied: unknown, field?: string): unknown {
  if (isPlainObject(live) && isPlainObject(applied)) {
    const out: Record<string, unknown> = { ...live }
    for (const [k, v] of Object.entries(applied)) out[k] = mergeApplied(live[k], v, k)
    return out
  }
  if (Array.isArray(live) && Array.isArray(applied)) {
    const key = mergeKeyFor(field, live, applied)
    if (key) {
      const liveItems = live as Record<string, unknown>[]
      const appliedItems = applied as Record<string, unknown>[]
      // The applied items in their order, then items other managers keep.
      const merged = appliedItems.map((item) => {
        const match = liveItems.find((l) => l[key] === item[key])
        return match ? mergeApplied(match, item) : clone(item)
      })
      for (const item of liveItems) {
        if (!appliedItems.some((a) => a[key] === item[key])) merged.push(clone(item))
      }
      return merged
    }
  }
  return clone(applied)
}

interface Conflict {
  manager: string
  apiVersion: string
  path: FieldPath
}

/** The 409 kubectl shows as "Apply failed with N conflicts: conflict with "m" using apps/v1: .spec.x". */
function conflictError(conflicts: Conflict[]): ApiError {
  const byManager = new Map<string, Conflict[]>()
  for (const c of conflicts) {
    const who = `"${c.manager}" using ${c.apiVersion}`
    byManager.set(who, [...(byManager.get(who) ?? []), c])
  }
  const n = conflicts.length
  const parts = [...byManager].map(([who, list]) =>
    list.length === 1
      ? `conflict with ${who}: ${formatPath(list[0].path)}`
      : `conflicts with ${who}:\n${list.map((c) => `- ${formatPath(c.path)}`).join('\n')}`,
  )
  const message = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`
  return new ApiError(409, 'Conflict', message, {
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${c.manager}" using ${c.apiVersion}`,
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
): KubeObject {
  const applied = withoutNulls(config) as KubeObject
  const current = live ?? {}
  const previous = readOwners(live?.metadata?.managedFields)
  const owners = readOwners(live?.metadata?.managedFields)
  const others = owners.filter((o) => !isWriter(o, writer))
  const newFields = new FieldSet(fieldPaths(applied))

  // Conflicts: another manager owns a field this configuration gives another value.
  const conflicts: Conflict[] = []
  for (const path of newFields) {
    if (path[path.length - 1].startsWith('k:')) continue // the item itself: its fields decide
    const was = getAt(current, path)
    if (!was.found || deepEqual(was.value, getAt(applied, path).value)) continue
    for (const other of others) {
      if (!other.fields.has(path)) continue
      if (force) other.fields.delete(path)
      else
        conflicts.push({ manager: other.entry.manager, apiVersion: other.entry.apiVersion, path })
    }
  }
  if (conflicts.length > 0) throw conflictError(conflicts)

  // Merge, then drop what this manager let go of and nobody else holds.
  const merged = mergeApplied(current, applied) as KubeObject
  let mine = owners.find((o) => isWriter(o, writer))
  const dropped = [...(mine?.fields ?? [])].filter(
    (path) => !newFields.has(path) && !others.some((o) => o.fields.hasAtOrUnder(path)),
  )
  // Deepest first, so removing an item does not hide the fields under it.
  dropped.sort((a, b) => b.length - a.length).forEach((path) => removeAt(merged, path))

  if (!mine) {
    mine = newOwner(writer)
    owners.push(mine)
  }
  mine.entry.apiVersion = writer.apiVersion
  mine.fields = newFields
  merged.metadata = {
    ...merged.metadata,
    managedFields: writeOwners(owners, merged, previous, writer.now),
  }
  return merged
}
