/**
 * Just enough of Kubernetes' protobuf encoding to read what kubectl's typed clients send: `kubectl
 * create namespace|configmap|secret|serviceaccount` POST `application/vnd.kubernetes.protobuf` bodies
 * and do not fall back to JSON. Other kinds answer 415 (use `kubectl apply` or JSON for them).
 *
 * The envelope is `k8s\0` + runtime.Unknown{typeMeta, raw}; `raw` is the object, metadata first.
 */
import { ApiError } from './errors.js'
import type { KubeObject } from './json.js'

type Scalar = 'string' | 'bytes' | 'int' | 'bool' | 'time'
type FieldType = Scalar | Schema | { map: 'string' | 'bytes' }
interface Field {
  name: string
  type: FieldType
  repeated?: boolean
}
interface Schema {
  [number: number]: Field
}

const OWNER_REFERENCE: Schema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
}

const OBJECT_META: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  11: { name: 'labels', type: { map: 'string' } },
  12: { name: 'annotations', type: { map: 'string' } },
  13: { name: 'ownerReferences', type: OWNER_REFERENCE, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
}

const SCHEMAS: Record<string, Schema> = {
  'v1/Namespace': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
  },
  'v1/ConfigMap': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: { map: 'string' } },
    3: { name: 'binaryData', type: { map: 'bytes' } },
    4: { name: 'immutable', type: 'bool' },
  },
  'v1/Secret': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: { map: 'bytes' } },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: { map: 'string' } },
    5: { name: 'immutable', type: 'bool' },
  },
  'v1/ServiceAccount': {
    1: { name: 'metadata', type: OBJECT_META },
    3: { name: 'imagePullSecrets', type: { 1: { name: 'name', type: 'string' } }, repeated: true },
    4: { name: 'automountServiceAccountToken', type: 'bool' },
  },
}

/** Wire-format fields of one message: number → raw values (varints as numbers, others as bytes). */
function readFields(buf: Buffer): Map<number, (number | Buffer)[]> {
  const fields = new Map<number, (number | Buffer)[]>()
  let pos = 0
  const varint = (): number => {
    let result = 0
    let shift = 1
    for (;;) {
      const byte = buf[pos++]
      if (byte === undefined) throw new Error('truncated varint')
      result += (byte & 0x7f) * shift
      if (byte < 0x80) return result
      shift *= 128
    }
  }
  while (pos < buf.length) {
    const tag = varint()
    const [number, wire] = [Math.floor(tag / 8), tag & 7]
    let value: number | Buffer
    if (wire === 0) value = varint()
    else if (wire === 2) {
      const length = varint()
      value = buf.subarray(pos, pos + length)
      pos += length
    } else if (wire === 1 || wire === 5) {
      value = buf.subarray(pos, pos + (wire === 1 ? 8 : 4))
      pos += wire === 1 ? 8 : 4
    } else throw new Error(`unsupported wire type ${wire}`)
    fields.set(number, [...(fields.get(number) ?? []), value])
  }
  return fields
}

function decodeValue(type: FieldType, raw: number | Buffer): unknown {
  if (type === 'int') return raw
  if (type === 'bool') return raw === 1
  if (type === 'string') return (raw as Buffer).toString('utf8')
  if (type === 'bytes') return (raw as Buffer).toString('base64')
  if (type === 'time') {
    const seconds = (readFields(raw as Buffer).get(1)?.[0] as number | undefined) ?? 0
    return seconds ? new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined
  }
  return decodeMessage(type, raw as Buffer)
}

/** Go's encoder writes zero values that JSON would omit; leave them out. */
function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === '' ||
    value === 0 ||
    value === false ||
    (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
  )
}

function decodeMessage(schema: Schema, buf: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [number, values] of readFields(buf)) {
    const field = schema[number]
    if (!field) continue
    const type = field.type
    if (typeof type === 'object' && 'map' in type) {
      const map: Record<string, unknown> = {}
      for (const entry of values) {
        const kv = readFields(entry as Buffer)
        const key = (kv.get(1)?.[0] as Buffer | undefined)?.toString('utf8') ?? ''
        const value = kv.get(2)?.[0] ?? Buffer.alloc(0)
        map[key] = decodeValue(type.map, value)
      }
      out[field.name] = map
    } else if (field.repeated) {
      out[field.name] = values.map((v) => decodeValue(type, v))
    } else {
      const value = decodeValue(type, values[values.length - 1])
      if (!isEmpty(value)) out[field.name] = value
    }
  }
  return out
}

/** Decodes a `application/vnd.kubernetes.protobuf` object body to its JSON form, or throws 415. */
export function decodeProtobufObject(body: Buffer): KubeObject {
  const unsupported = (why: string): ApiError =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      `the test API server cannot decode this protobuf body (${why}); send JSON`,
    )
  if (body.subarray(0, 4).toString('latin1') !== 'k8s\0') throw unsupported('no k8s envelope')
  const unknown = readFields(body.subarray(4))
  const typeMeta = readFields((unknown.get(1)?.[0] as Buffer | undefined) ?? Buffer.alloc(0))
  const apiVersion = (typeMeta.get(1)?.[0] as Buffer | undefined)?.toString('utf8') ?? ''
  const kind = (typeMeta.get(2)?.[0] as Buffer | undefined)?.toString('utf8') ?? ''
  const schema = SCHEMAS[`${apiVersion}/${kind}`]
  if (!schema) throw unsupported(`${apiVersion} ${kind}`)
  const raw = (unknown.get(2)?.[0] as Buffer | undefined) ?? Buffer.alloc(0)
  return { apiVersion, kind, ...decodeMessage(schema, raw) }
}
