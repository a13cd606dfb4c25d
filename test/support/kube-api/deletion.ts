/**
 * Deletion as the real control plane carries it out: finalizers defer it (`deletionTimestamp` until the
 * last one is removed), Namespaces go `Terminating` and take their content along, deleting a CRD
 * deletes its objects, and the garbage collector follows ownerReferences (Background, Foreground,
 * Orphan). Dependents are collected at once rather than eventually.
 */
import { clone, timestamp, type KubeObject } from './json.js'
import {
  isCrd,
  NAMESPACES_KEY,
  resourceKey,
  type ResourceDef,
  type ResourceRegistry,
} from './resources.js'
import type { Store } from './store.js'

/** `propagationPolicy` of DeleteOptions. */
export type Propagation = 'Background' | 'Foreground' | 'Orphan'

export class Deletion {
  private readonly timers = new Set<NodeJS.Timeout>()

  /** `delayMs`: how long a deleted Namespace stays Terminating before its content goes. */
  constructor(
    private readonly registry: ResourceRegistry,
    private readonly store: Store,
    private readonly delayMs: number,
  ) {}

  /** Cancels pending namespace terminations. */
  dispose(): void {
    this.timers.forEach((t) => clearTimeout(t))
    this.timers.clear()
  }

  /** Deletes one stored object by the rules: namespaces terminate, finalizers defer, dependents follow. */
  deleteObject(def: ResourceDef, object: KubeObject, policy: Propagation): KubeObject {
    const meta = object.metadata ?? {}
    if (resourceKey(def) === NAMESPACES_KEY) return this.terminateNamespace(object)
    if (policy === 'Foreground') this.collectDependents(object, 'Foreground')
    if (meta.finalizers?.length) {
      if (meta.deletionTimestamp) return object
      const marked = clone(object)
      marked.metadata = {
        ...marked.metadata,
        deletionTimestamp: timestamp(),
        deletionGracePeriodSeconds: 0,
      }
      if (def.generation) marked.metadata.generation = (meta.generation ?? 1) + 1
      return this.store.put(resourceKey(def), marked)
    }
    const gone = this.store.remove(resourceKey(def), meta.namespace, meta.name ?? '')
    if (gone) this.afterRemoval(def, gone, policy)
    return gone ?? object
  }

  /** After an object is gone: a CRD takes its kind and objects along; dependents are collected. */
  afterRemoval(def: ResourceDef, gone: KubeObject, policy: Propagation): void {
    if (isCrd(def)) {
      const served = this.registry.unregisterCrd(gone.metadata?.name ?? '')
      if (served) {
        for (const o of this.store.list(resourceKey(served))) {
          this.store.remove(resourceKey(served), o.metadata?.namespace, o.metadata?.name ?? '')
        }
      }
    }
    if (policy !== 'Foreground') this.collectDependents(gone, policy)
  }

  /** Garbage collection by ownerReferences: dependents go too, or lose the reference (Orphan). */
  private collectDependents(owner: KubeObject, policy: Propagation): void {
    const uid = owner.metadata?.uid
    if (!uid) return
    for (const { resource: key, object: dependent } of this.store.dependentsOf(uid)) {
      const def = this.registry.all().find((d) => resourceKey(d) === key)
      if (!def) continue
      const others = (dependent.metadata?.ownerReferences ?? []).filter((r) => r.uid !== uid)
      // A dependent with other owners left only loses this reference, as with the real collector.
      if (policy === 'Orphan' || others.length > 0) {
        dependent.metadata = { ...dependent.metadata, ownerReferences: others }
        if (others.length === 0) delete dependent.metadata.ownerReferences
        this.store.put(key, dependent)
      } else {
        this.deleteObject(def, dependent, 'Background')
      }
    }
  }

  /** Deleting a namespace: `Terminating` at once, its content and itself shortly after. */
  private terminateNamespace(namespace: KubeObject): KubeObject {
    if (namespace.metadata?.deletionTimestamp) return namespace
    const marked = clone(namespace)
    marked.metadata = { ...marked.metadata, deletionTimestamp: timestamp() }
    marked.status = { ...marked.status, phase: 'Terminating' }
    const stored = this.store.put(NAMESPACES_KEY, marked)
    this.later(() => this.finishNamespace(stored.metadata?.name ?? ''))
    return stored
  }

  private finishNamespace(name: string): void {
    const namespace = this.store.get(NAMESPACES_KEY, undefined, name)
    if (!namespace?.metadata?.deletionTimestamp) return
    let remaining = 0
    for (const key of this.store.resources()) {
      const def = this.registry.all().find((d) => resourceKey(d) === key)
      for (const object of this.store.list(key, name)) {
        if (!def) this.store.remove(key, name, object.metadata?.name ?? '')
        else if (!object.metadata?.deletionTimestamp) this.deleteObject(def, object, 'Background')
      }
      remaining += this.store.list(key, name).length
    }
    // Objects held by finalizers (or the namespace's own) keep it Terminating, as on a real cluster.
    if (remaining > 0 || namespace.metadata.finalizers?.length)
      this.later(() => this.finishNamespace(name))
    else this.store.remove(NAMESPACES_KEY, undefined, name)
  }

  private later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      fn()
    }, this.delayMs)
    timer.unref()
    this.timers.add(timer)
  }
}
