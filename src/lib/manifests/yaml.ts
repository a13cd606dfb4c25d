/**
 * The one loader and serializer for Kubernetes manifests.
 *
 * kubectl reads YAML with go-yaml v2 (YAML 1.1): `0644` is the octal 420 and `yes`/`on`/`y` are booleans.
 * Reading goes through js-yaml with a schema of go-yaml v2's own rules for plain scalars (`resolve.go`),
 * checked by test against kubectl itself: js-yaml reads thousands of manifests about ten times as fast as
 * the `yaml` package (`npm run bench:deps`, docs/decisions.md), which stays for writing (it quotes every
 * string a YAML 1.1 reader could misread):
 * - `~`, `null`, `Null`, `NULL` and nothing are null; `y`, `yes`, `on`, `true` (and `n`, `no`, `off`,
 *   `false`) in three casings are booleans;
 * - integers as Go's `ParseInt(s, 0, 64)` reads them once `_` is dropped: `0644` and `0o17` octal, `0x1F`,
 *   `0b101`, a sign; floats only in YAML's own form (`1e3`, `.5`, `1_000.5`);
 * - timestamps and sexagesimal numbers (`1:20`) stay strings; duplicate keys: the last one wins;
 * - a tag (`!foo bar`, `!!set`) is read as if it were not there, `!!binary` is decoded; `.inf` and `.nan`
 *   are refused, as kubectl refuses them (JSON cannot hold them).
 * Known differences, rare in manifests: a key set before a `<<` merge keeps its value (go-yaml lets the
 * merge overwrite it); integers beyond 2^53 lose precision, as any JavaScript number does; float keys
 * are written as JavaScript writes numbers.
 */
import { loadAll, FAILSAFE_SCHEMA, Type, YAMLException, type LoadOptions } from 'js-yaml'
import { Document, type ScalarTag, type Tags } from 'yaml'
import { ConfigurationError } from '../errors.js'

/** Limits that keep a hostile or broken file from eating the process. */
export interface LoadLimits {
  /** Largest text accepted, in bytes (default 16 MiB). */
  maxBytes?: number
  /**
   * Most values a document may hold once its aliases are expanded (default: 10,000 more than its
   * length): stops "billion laughs", whose few bytes expand to billions of values.
   */
  maxValues?: number
}

/** The largest manifest text read by default (`LoadLimits.maxBytes`). */
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL'])
const TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE'])
const FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE'])
const SPECIAL_FLOATS = new Map([
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, Infinity] as const),
  ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, -Infinity] as const),
  ...['.nan', '.NaN', '.NAN'].map((s) => [s, NaN] as const),
])
/** go-yaml v2's `yamlStyleFloat`. */
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/
/** What Go's `ParseInt(s, 0, 64)` and `ParseUint` accept: a sign, then a base prefix or a leading 0. */
const GO_INT = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const UINT64_MAX = 2n ** 64n - 1n

/** A plain scalar as an integer, the way go-yaml v2 resolves it; undefined when it is not one. */
function goInt(plain: string): number | undefined {
  const first = plain.charCodeAt(0)
  // Only scalars starting with a digit or a sign are numbers to go-yaml.
  if (!((first >= 48 && first <= 57) || first === 43 || first === 45)) return undefined
  const m = GO_INT.exec(plain.replace(/_/g, ''))
  if (!m) return undefined
  const [, sign, digits] = m
  const prefix = digits.slice(0, 2).toLowerCase()
  const magnitude = ['0x', '0o', '0b'].includes(prefix)
    ? BigInt(`0${prefix[1]}${digits.slice(2)}`)
    : digits.length > 1 && digits.startsWith('0')
      ? BigInt(`0o${digits.slice(1)}`)
      : BigInt(digits)
  const value = sign === '-' ? -magnitude : magnitude
  // Within ParseInt's range, or ParseUint's without a sign; beyond them it is no int to go-yaml (a
  // long hex string stays a string; a long decimal one may still be a float).
  if (!((value >= INT64_MIN && value <= INT64_MAX) || (sign === '' && value <= UINT64_MAX)))
    return undefined
  return Number(value)
}

/** A plain scalar as a float, the way go-yaml v2 resolves it (after `goInt`); undefined otherwise. */
function goFloat(plain: string): number | undefined {
  const special = SPECIAL_FLOATS.get(plain)
  if (special !== undefined) return special
  const first = plain.charCodeAt(0)
  if (!((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46))
    return undefined
  const bare = plain.replace(/_/g, '')
  if (!YAML_FLOAT.test(bare)) return undefined
  const value = Number(bare)
  // Out of a float64's range, Go's ParseFloat fails: the text stays a string.
  return Number.isFinite(value) ? value : undefined
}

/** go-yaml v2's reading of plain scalars, and local tags passed through as kubectl does. */
const KUBECTL_SCHEMA = FAILSAFE_SCHEMA.extend({
  implicit: [
    new Type('tag:yaml.org,2002:null', {
      kind: 'scalar',
      resolve: (s: string | null) => s === null || NULLS.has(s),
      construct: () => null,
    }),
    new Type('tag:yaml.org,2002:bool', {
      kind: 'scalar',
      resolve: (s: string | null) => s !== null && (TRUE.has(s) || FALSE.has(s)),
      construct: (s: string) => TRUE.has(s),
    }),
    new Type('tag:yaml.org,2002:int', {
      kind: 'scalar',
      resolve: (s: string | null) => s !== null && goInt(s) !== undefined,
      construct: (s: string) => goInt(s),
    }),
    new Type('tag:yaml.org,2002:float', {
      kind: 'scalar',
      // An int is a float too when tagged so (`!!float 0x10`); untagged, the int type comes first.
      resolve: (s: string | null) => s !== null && (goFloat(s) ?? goInt(s)) !== undefined,
      construct: (s: string) => goFloat(s) ?? goInt(s),
    }),
    // `<<: *base` merges a mapping in (the loader acts on keys of this tag).
    new Type('tag:yaml.org,2002:merge', { kind: 'scalar', resolve: (s) => s === '<<' }),
  ],
  explicit: [
    // `!!binary` is decoded to its text, as kubectl does.
    new Type('tag:yaml.org,2002:binary', {
      kind: 'scalar',
      resolve: (s: string | null) => s !== null && /^[A-Za-z0-9+/=\s]*$/.test(s),
      construct: (s: string) => Buffer.from(s.replace(/\s/g, ''), 'base64').toString('utf8'),
    }),
    // Any other tag, local (`!foo`) or not (`!!set`, `!!timestamp`), is read as if it were not there.
    ...['!', 'tag:'].flatMap((prefix) =>
      (['scalar', 'sequence', 'mapping'] as const).map(
        (kind) =>
          new Type(prefix, {
            kind,
            multi: true,
            construct: (data: unknown) => (kind === 'scalar' ? (data ?? '') : data),
          }),
      ),
    ),
  ],
})
/** `0o17`, which go-yaml v2 reads as an octal int: written quoted when it is a string. */
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

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A manifest file's bytes as text, refusing what is not UTF-8 as kubectl does (a lenient decoder would
 * apply U+FFFD in place of each bad byte). The error names the file, never its content.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new ConfigurationError(
      `${file} is not valid UTF-8: manifests must be UTF-8 text (re-save the file as UTF-8)`,
    )
  }
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
  const maxValues = limits.maxValues ?? text.length + 10_000
  let docs: unknown[]
  try {
    // json: a key given twice keeps its last value, as kubectl does.
    // maxDepth and maxTotalMergeKeys are js-yaml 4.3's, newer than its published types.
    const options: LoadOptions & { maxDepth: number; maxTotalMergeKeys: number } = {
      schema: KUBECTL_SCHEMA,
      json: true,
      filename: sourceName,
      // kubectl nests up to 10,000 deep; a CRD's schema may need more than js-yaml's default 100.
      maxDepth: 1000,
      maxTotalMergeKeys: maxValues,
    }
    docs = loadAll(text, undefined, options)
  } catch (e) {
    const reason = e instanceof YAMLException ? e.reason : String(e)
    const mark = e instanceof YAMLException ? e.mark : undefined
    const where = mark ? ` at line ${mark.line + 1}, column ${mark.column + 1}` : ''
    throw new ConfigurationError(`${sourceName}: invalid YAML: ${reason}${where}`)
  }
  const many = docs.length > 1
  const out: LoadedDocument[] = []
  docs.forEach((value, index) => {
    const source = many ? `${sourceName} (document ${index + 1})` : sourceName
    if (value === null || value === undefined) return
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigurationError(
        `${source}: a manifest must be a mapping, found ${describe(value)}`,
      )
    }
    checkJsonable(value, source, { left: maxValues, max: maxValues })
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

/**
 * Refuses what JSON (and so the Kubernetes API) cannot hold, as kubectl does, and a document whose
 * aliases expand it beyond `budget` values.
 */
function checkJsonable(
  value: unknown,
  source: string,
  budget: { left: number; max: number },
): void {
  const bad = unjsonable(value, budget)
  if (bad === 'too-big') {
    throw new ConfigurationError(
      `${source}: expands to more than ${budget.max} values through its aliases (a YAML bomb?)`,
    )
  }
  if (bad) {
    throw new ConfigurationError(
      `${source}: ${bad.path.join('.') || 'value'} is ${bad.value}, which JSON cannot hold (quote it if it is a string)`,
    )
  }
}

/** The first number JSON cannot hold, with its path (built only when one is found). */
function unjsonable(
  value: unknown,
  budget: { left: number },
): { path: string[]; value: number } | 'too-big' | undefined {
  if (--budget.left < 0) return 'too-big'
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path: [], value }
  if (value === null || typeof value !== 'object') return undefined
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value)
  for (const [key, v] of entries) {
    const bad = unjsonable(v, budget)
    if (bad === 'too-big') return bad
    if (bad) return { path: [key, ...bad.path], value: bad.value }
  }
  return undefined
}

/**
 * The stable YAML form of one object: keys sorted, no line folding, and every string that a YAML 1.1
 * reader could mistake for a number, boolean or time quoted.
 */
export function toYaml(value: unknown): string {
  const doc = new Document(value, { version: '1.1', customTags: writeTags, sortMapEntries: true })
  return doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true })
}
