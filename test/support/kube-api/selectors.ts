/** Label and field selectors, in the query-string syntax clients send. */
import { badRequest } from './errors.js'
import type { KubeObject } from './json.js'

/** One test against an object; a selector matches when all of its requirements do. */
type Requirement = (object: KubeObject) => boolean

/** A parsed selector: `matches(object)`; the empty selector matches everything. */
export interface Selector {
  matches(object: KubeObject): boolean
}

const everything: Selector = { matches: () => true }

/** Splits on commas outside parentheses (`a in (x,y),b` is two requirements). */
function splitRequirements(text: string): string[] {
  const parts: string[] = []
  let depth = 0
  let current = ''
  for (const ch of text) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      parts.push(current)
      current = ''
    } else current += ch
  }
  parts.push(current)
  return parts.map((p) => p.trim()).filter((p) => p !== '')
}

function labelRequirement(text: string): Requirement {
  const labels = (o: KubeObject): Record<string, string> => o.metadata?.labels ?? {}
  const set = /^([^\s!=<>(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text)
  if (set) {
    const [, key, op, list] = set
    const values = list.split(',').map((v) => v.trim())
    return op === 'in'
      ? (o) => key in labels(o) && values.includes(labels(o)[key])
      : (o) => !(key in labels(o)) || !values.includes(labels(o)[key])
  }
  const compare = /^([^\s!=<>(),]+)\s*(==|=|!=|<|>)\s*([^\s!=<>(),]*)$/.exec(text)
  if (compare) {
    const [, key, op, value] = compare
    switch (op) {
      case '!=':
        return (o) => labels(o)[key] !== value
      case '<':
      case '>': {
        const limit = Number(value)
        if (Number.isNaN(limit)) throw badRequest(`unable to parse requirement: ${text}`)
        return (o) =>
          key in labels(o) &&
          (op === '<' ? Number(labels(o)[key]) < limit : Number(labels(o)[key]) > limit)
      }
      default:
        return (o) => labels(o)[key] === value
    }
  }
  const exists = /^(!?)([^\s!=<>(),]+)$/.exec(text)
  if (exists) {
    const [, not, key] = exists
    return not ? (o) => !(key in labels(o)) : (o) => key in labels(o)
  }
  throw badRequest(`unable to parse requirement: ${JSON.stringify(text)}`)
}

/** `labelSelector`: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`. */
export function parseLabelSelector(text: string | null | undefined): Selector {
  if (!text) return everything
  const requirements = splitRequirements(text).map(labelRequirement)
  return { matches: (o) => requirements.every((r) => r(o)) }
}

/** The value at a dotted path (`metadata.name`, `status.phase`) as a string, '' if absent. */
function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object
  for (const part of path.split('.')) {
    value =
      typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)[part]
        : undefined
  }
  if (value === undefined || value === null) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/**
 * `fieldSelector`: `path=value`, `path==value`, `path!=value` over any dotted path (the real server
 * allows only a few paths per kind; `metadata.name` and `metadata.namespace` are the ones clients use).
 */
export function parseFieldSelector(text: string | null | undefined): Selector {
  if (!text) return everything
  const requirements = splitRequirements(text).map((part): Requirement => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(part)
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`)
    const [, path, op, value] = m
    return op === '!=' ? (o) => fieldValue(o, path) !== value : (o) => fieldValue(o, path) === value
  })
  return { matches: (o) => requirements.every((r) => r(o)) }
}
