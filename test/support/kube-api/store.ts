/**
 * Object storage: one global resourceVersion counter (as etcd's revision), objects by resource, and a
 * bounded log of changes that watches replay and the controller follows.
 */
import { clone, type KubeObject } from './json.js'

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED'

/** One change, as stored (the object is a copy; never change it). */
export interface StoreEvent {
  type: EventType
  /** `resourceKey()` of the object's resource. */
  resource: string
  object: KubeObject
  resourceVersion: number
}

/** How many past events watches can resume from; older resourceVersions answer 410 Gone. */
const LOG_SIZE = 10_000

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`
}

export class Store {
  private revision = 0
  private readonly objects = new Map<string, Map<string, KubeObject>>()
  private readonly log: StoreEvent[] = []
  private readonly listeners = new Set<(event: StoreEvent) => void>()

  /** The latest resourceVersion (of any write). */
  get resourceVersion(): number {
    return this.revision
  }

  /** A copy of the stored object, or undefined. */
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return clone(this.objects.get(resource)?.get(objectKey(namespace, name)))
  }

  /** Copies of a resource's objects (in one namespace if given), sorted by namespace and name. */
  list(resource: string, namespace?: string): KubeObject[] {
    const all = [...(this.objects.get(resource)?.values() ?? [])]
    return all
      .filter((o) => namespace === undefined || o.metadata?.namespace === namespace)
      .sort((a, b) =>
        objectKey(a.metadata?.namespace, a.metadata?.name ?? '').localeCompare(
          objectKey(b.metadata?.namespace, b.metadata?.name ?? ''),
        ),
      )
      .map((o) => clone(o))
  }

  /** Copies of the objects an ownerReference with `uid` points from (without copying the rest). */
  dependentsOf(uid: string): { resource: string; object: KubeObject }[] {
    const out: { resource: string; object: KubeObject }[] = []
    for (const [resource, byName] of this.objects) {
      for (const object of byName.values()) {
        if (object.metadata?.ownerReferences?.some((r) => r.uid === uid)) {
          out.push({ resource, object: clone(object) })
        }
      }
    }
    return out
  }

  /** Every resource key that has objects (for sweeps across kinds: namespaces, garbage collection). */
  resources(): string[] {
    return [...this.objects.keys()].filter((k) => (this.objects.get(k)?.size ?? 0) > 0)
  }

  /** Stores a new or changed object under a new resourceVersion; returns the stored copy. */
  put(resource: string, object: KubeObject): KubeObject {
    const stored = clone(object)
    const meta = (stored.metadata ??= {})
    const key = objectKey(meta.namespace, meta.name ?? '')
    const byName = this.objects.get(resource) ?? new Map<string, KubeObject>()
    this.objects.set(resource, byName)
    const type = byName.has(key) ? 'MODIFIED' : 'ADDED'
    meta.resourceVersion = String(++this.revision)
    byName.set(key, stored)
    this.emit(type, resource, stored)
    return clone(stored)
  }

  /** Removes an object; returns it as deleted (with the deletion's resourceVersion). */
  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const byName = this.objects.get(resource)
    const stored = byName?.get(objectKey(namespace, name))
    if (!byName || !stored) return undefined
    byName.delete(objectKey(namespace, name))
    const deleted = clone(stored)
    deleted.metadata = { ...deleted.metadata, resourceVersion: String(++this.revision) }
    this.emit('DELETED', resource, deleted)
    return clone(deleted)
  }

  /** Events after `resourceVersion`, or undefined if the log no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] | undefined {
    const oldest = this.log[0]?.resourceVersion ?? this.revision + 1
    if (resourceVersion < oldest - 1 && resourceVersion < this.revision) return undefined
    return this.log.filter((e) => e.resourceVersion > resourceVersion)
  }

  /** Calls `listener` for each later change; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(type: EventType, resource: string, object: KubeObject): void {
    const event: StoreEvent = {
      type,
      resource,
      object: clone(object),
      resourceVersion: Number(object.metadata?.resourceVersion),
    }
    this.log.push(event)
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE)
    for (const listener of [...this.listeners]) listener(event)
  }
}
