/**
 * The one loader and serializer for Kubernetes manifests.
 *
 * kubectl reads YAML with go-yaml v2 (YAML 1.1): `0644` is the octal 420 and `yes`/`on`/`y` are booleans.
 * js-yaml reads YAML 1.2 and gets both wrong, so manifests go through the `yaml` package with a YAML 1.1
 * schema tuned to kubectl's reading, checked by test against kubectl itself:
 * - timestamps stay strings (go-yaml v2 decodes them to strings when the target is untyped, as it is here);
 * - sexagesimal numbers (`1:20`) stay strings (go-yaml v2 has no base-60);
 * - `0o17` is an octal int, as go-yaml v2 reads it;
 * - `.inf` and `.nan` are refused, as kubectl refuses them (JSON cannot hold them).
 */
import { Document, parseAllDocuments, type ScalarTag, type Tags } from 'yaml'
import { ConfigurationError } from '../errors.js'

/** Limits that keep a hostile or broken file from eating the process. */
export interface LoadLimits {
  /** Largest text accepted, in bytes (default 16 MiB). */
  maxBytes?: number
  /** Most alias expansions per document (default 1,000: stops "billion laughs"). */
  maxAliasCount?: number
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024
const DEFAULT_MAX_ALIASES = 1000

const octalO: ScalarTag = {
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  default: true,
  test: /^[-+]?0o[0-7_]+$/,
  resolve: (str: string) => {
    const sign = str.startsWith('-') ? -1 : 1
    return sign * parseInt(str.replace(/^[-+]?0o/, '').replace(/_/g, ''), 8)
  },
}

/** Sexagesimal numbers and timestamps, which go-yaml v2 leaves as strings. */
function isKeptAsString(tag: Tags[number]): boolean {
  if (typeof tag === 'string') return ['intTime', 'floatTime', 'timestamp'].includes(tag)
  return ('format' in tag && tag.format === 'TIME') || tag.tag === 'tag:yaml.org,2002:timestamp'
}

/** YAML 1.1 as kubectl reads it. */
const readTags = (tags: Tags): Tags => [octalO, ...tags.filter((t) => !isKeptAsString(t))]
/** When writing, every string that any YAML 1.1 reader could take for something else is quoted. */
const writeTags = (tags: Tags): Tags => [octalO, ...tags]

/** A Kubernetes object as read from YAML. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; [key: string]: unknown }
  [key: string]: unknown
}

/** One document of a manifest text, with where it came from (for error messages). */
export interface LoadedDocument {
  /** `file.yaml` or `file.yaml (document 2)`. */
  source: string
  value: Record<string, unknown>
}

/**
 * Parses every document of a manifest text. Empty documents are skipped; a `kind: List` (or any
 * `...List` kind with `items`) is expanded into its items, as kubectl does. Anything that is not a
 * mapping is refused, naming the source and line.
 */
export function parseManifestText(
  text: string,
  sourceName: string,
  limits: LoadLimits = {},
): LoadedDocument[] {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES
  if (Buffer.byteLength(text) > maxBytes) {
    throw new ConfigurationError(`${sourceName}: larger than the limit of ${maxBytes} bytes`)
  }
  const docs = parseAllDocuments(text, {
    version: '1.1',
    customTags: readTags,
    merge: true,
    uniqueKeys: false,
    prettyErrors: true,
  })
  if (!Array.isArray(docs)) {
    return [] // an empty stream
  }
  const many = docs.length > 1
  const out: LoadedDocument[] = []
  docs.forEach((doc, index) => {
    const source = many ? `${sourceName} (document ${index + 1})` : sourceName
    const error = doc.errors[0]
    if (error) {
      throw new ConfigurationError(`${sourceName}: invalid YAML: ${error.message}`)
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount ?? DEFAULT_MAX_ALIASES })
    } catch (e) {
      throw new ConfigurationError(`${source}: ${(e as Error).message}`)
    }
    if (value === null || value === undefined) return
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigurationError(
        `${source}: a manifest must be a mapping, found ${describe(value)}`,
      )
    }
    checkJsonable(value, source, [])
    const record = value as Record<string, unknown>
    if (
      typeof record.kind === 'string' &&
      record.kind.endsWith('List') &&
      Array.isArray(record.items)
    ) {
      record.items.forEach((item: unknown, i) => {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          throw new ConfigurationError(
            `${source}: item ${i + 1} of the ${String(record.kind)} is not a mapping`,
          )
        }
        out.push({ source: `${source} item ${i + 1}`, value: item as Record<string, unknown> })
      })
      return
    }
    out.push({ source, value: record })
  })
  return out
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`
}

/** Refuses what JSON (and so the Kubernetes API) cannot hold, as kubectl does. */
function checkJsonable(value: unknown, source: string, path: string[]): void {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new ConfigurationError(
      `${source}: ${path.join('.') || 'value'} is ${value}, which JSON cannot hold (quote it if it is a string)`,
    )
  }
  if (value instanceof Uint8Array) {
    throw new ConfigurationError(`${source}: ${path.join('.')} is !!binary; use a base64 string`)
  }
  if (value instanceof Map || value instanceof Set) {
    throw new ConfigurationError(`${source}: ${path.join('.')} uses an unsupported YAML type`)
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkJsonable(v, source, [...path, String(i)]))
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) checkJsonable(v, source, [...path, k])
  }
}

/**
 * The stable YAML form of one object: keys sorted, no line folding, and every string that a YAML 1.1
 * reader could mistake for a number, boolean or time quoted.
 */
export function toYaml(value: unknown): string {
  const doc = new Document(value, { version: '1.1', customTags: writeTags, sortMapEntries: true })
  return doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true })
}
