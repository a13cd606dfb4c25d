/**
 * Who an object is: its `ObjectRef`, the `Kind/namespace/name` key that indexes it, and how messages name it.
 * Every place that compares, indexes or names objects goes through here, so the key is spelled once.
 */
import type { KubeObject } from './yaml.js'

/** The identity of an object. */
export interface ObjectRef {
  apiVersion: string
  kind: string
  name: string
  namespace?: string
}

export function refOf(object: KubeObject): ObjectRef {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
  }
}

/** `Kind/namespace/name` (namespace empty for cluster-scoped or unset): the key of indexes. */
export function refKey(ref: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>): string {
  return `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`
}

/** The key of a manifest, as `refKey` of its ref. */
export function objectKey(object: KubeObject): string {
  return refKey({
    kind: object.kind,
    name: object.metadata.name,
    namespace: object.metadata.namespace,
  })
}

/** `Kind/name` or `Kind/namespace/name`, for messages. */
export function describeRef(ref: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`
}

/** `describeRef` of a manifest. */
export function describeObject(object: KubeObject): string {
  return describeRef({
    kind: object.kind,
    name: object.metadata.name,
    namespace: object.metadata.namespace,
  })
}
