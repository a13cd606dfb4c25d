/** The non-apply PATCH types: JSON merge patch, strategic merge patch (approximated) and JSON patch. */
import { badRequest } from './errors.js'
import { clone, deepEqual, isPlainObject } from './json.js'
import { patchMergeKey } from './field-paths.js'

/** RFC 7386: maps merge, `null` deletes, everything else (lists too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch)
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value)
  }
  return out
}

/**
 * Strategic merge patch without schemas: like a merge patch, but lists with a merge key (containers,
 * env, ports, volumes… see `patchMergeKey`) merge item by item, and an item `{"$patch": "delete"}` removes
 * its match. Other `$` directives (`$setElementOrder`, `$retainKeys`…) are ignored. What `kubectl
 * set image`, `rollout restart` and `scale` send behaves as on a real server.
 */
export function strategicMergePatch(target: unknown, patch: unknown, field?: string): unknown {
  if (Array.isArray(patch) && Array.isArray(target)) {
    const items = patch.filter((p) => !(isPlainObject(p) && p.$patch === 'delete'))
    const key = patchMergeKey(field, target, patch)
    if (key) {
      const out = (clone(target) as Record<string, unknown>[]).filter(
        (t) => !patch.some((p) => isPlainObject(p) && p.$patch === 'delete' && p[key] === t[key]),
      )
      for (const item of items as Record<string, unknown>[]) {
        const at = out.findIndex((t) => t[key] === item[key])
        if (at >= 0) out[at] = strategicMergePatch(out[at], item) as Record<string, unknown>
        else out.push(strategicMergePatch(undefined, item) as Record<string, unknown>)
      }
      return out
    }
    return items.map((item) => strategicMergePatch(undefined, item))
  }
  if (!isPlainObject(patch)) return clone(patch)
  if (patch.$patch === 'replace')
    return strategicMergePatch(undefined, { ...patch, $patch: undefined })
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$') || value === undefined) continue
    if (value === null) delete out[key]
    else out[key] = strategicMergePatch(out[key], value, key)
  }
  return out
}

/** An RFC 6901 pointer's tokens. */
function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) {
    throw badRequest(`invalid JSON pointer: ${JSON.stringify(path)}`)
  }
  return path === ''
    ? []
    : path
        .slice(1)
        .split('/')
        .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function parentOf(document: unknown, tokens: string[]): { parent: unknown; last: string } {
  let parent = document
  for (const token of tokens.slice(0, -1)) {
    parent = Array.isArray(parent)
      ? parent[Number(token)]
      : isPlainObject(parent)
        ? parent[token]
        : undefined
    if (parent === undefined) throw badRequest(`jsonpatch: path not found: /${tokens.join('/')}`)
  }
  return { parent, last: tokens[tokens.length - 1] }
}

function read(document: unknown, tokens: string[]): unknown {
  let value = document
  for (const token of tokens) {
    value = Array.isArray(value)
      ? value[Number(token)]
      : isPlainObject(value)
        ? value[token]
        : undefined
    if (value === undefined) throw badRequest(`jsonpatch: path not found: /${tokens.join('/')}`)
  }
  return value
}

function add(document: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return clone(value)
  const { parent, last } = parentOf(document, tokens)
  if (Array.isArray(parent))
    parent.splice(last === '-' ? parent.length : Number(last), 0, clone(value))
  else if (isPlainObject(parent)) parent[last] = clone(value)
  else throw badRequest(`jsonpatch: cannot add at /${tokens.join('/')}`)
  return document
}

function remove(document: unknown, tokens: string[]): unknown {
  read(document, tokens)
  const { parent, last } = parentOf(document, tokens)
  if (Array.isArray(parent)) parent.splice(Number(last), 1)
  else if (isPlainObject(parent)) delete parent[last]
  return document
}

/** RFC 6902 JSON patch: add, remove, replace, move, copy, test. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('json patch must be a list of operations')
  let document = clone(target)
  for (const op of operations as Record<string, unknown>[]) {
    const tokens = pointer(op.path)
    switch (op.op) {
      case 'add':
        document = add(document, tokens, op.value)
        break
      case 'remove':
        document = remove(document, tokens)
        break
      case 'replace':
        document = add(remove(document, tokens), tokens, op.value)
        break
      case 'move': {
        const from = pointer(op.from)
        const value = read(document, from)
        document = add(remove(document, from), tokens, value)
        break
      }
      case 'copy':
        document = add(document, tokens, read(document, pointer(op.from)))
        break
      case 'test':
        if (!deepEqual(read(document, tokens), op.value)) {
          throw badRequest(`jsonpatch test operation does not apply: /${tokens.join('/')}`)
        }
        break
      default:
        throw badRequest(`unexpected JSON patch operation: ${JSON.stringify(op.op)}`)
    }
  }
  return document
}
