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

/** The garbage collector's finalizer on an owner deleted with propagationPolicy Foreground. */
const FOREGROUND_FINALIZER = 'foregroundDeletion'

/** The garbage collector's finalizer on an owner deleted with propagationPolicy Orphan. */
const ORPHAN_FINALIZER = 'orphan'

/** apiextensions' finalizer on a CRD being deleted (its custom resources go first). */
const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io'

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

  /**
   * Deletes one stored object by the rules: namespaces terminate, finalizers defer, dependents follow.
   * `removed` says it went at once (the real server then answers a Status); otherwise `object` is the
   * object as marked for deletion (`deletionTimestamp`), which is what the real server answers.
   */
  deleteObject(
    def: ResourceDef,
    object: KubeObject,
    policy: Propagation,
  ): { object: KubeObject; removed: boolean } {
    const meta = object.metadata ?? {}
    if (resourceKey(def) === NAMESPACES_KEY) {
      return { object: this.terminateNamespace(object), removed: false }
    }
    if (meta.deletionTimestamp) return { object, removed: false }
    if (isCrd(def)) return { object: this.deleteCrd(def, object), removed: false }
    if (policy === 'Foreground' || policy === 'Orphan') {
      // The garbage collector's finalizer holds the owner until its dependents are gone (Foreground)
      // or orphaned (Orphan), here at once, then lets it go.
      const finalizer = policy === 'Foreground' ? FOREGROUND_FINALIZER : ORPHAN_FINALIZER
      const marked = this.store.put(resourceKey(def), this.markDeleting(def, object, finalizer))
      this.collectDependents(marked, policy)
      this.dropFinalizer(def, marked, finalizer, policy)
      return { object: marked, removed: false }
    }
    if (meta.finalizers?.length) {
      return {
        object: this.store.put(resourceKey(def), this.markDeleting(def, object)),
        removed: false,
      }
    }
    const gone = this.store.remove(resourceKey(def), meta.namespace, meta.name ?? '')
    if (gone) this.afterRemoval(def, gone, policy)
    return { object: gone ?? object, removed: true }
  }

  /** A copy of `object` marked for deletion (with `finalizer` added, if given). */
  private markDeleting(def: ResourceDef, object: KubeObject, finalizer?: string): KubeObject {
    const meta = object.metadata ?? {}
    const marked = clone(object)
    marked.metadata = {
      ...marked.metadata,
      deletionTimestamp: timestamp(),
      deletionGracePeriodSeconds: 0,
    }
    if (finalizer && !meta.finalizers?.includes(finalizer)) {
      marked.metadata.finalizers = [...(meta.finalizers ?? []), finalizer]
    }
    if (def.generation) marked.metadata.generation = (meta.generation ?? 1) + 1
    return marked
  }

  /** Takes `finalizer` off an object being deleted: without finalizers left, it goes. */
  private dropFinalizer(
    def: ResourceDef,
    object: KubeObject,
    finalizer: string,
    policy: Propagation,
  ): void {
    const meta = object.metadata ?? {}
    const current = this.store.get(resourceKey(def), meta.namespace, meta.name ?? '')
    if (!current || current.metadata?.uid !== meta.uid) return
    const finalizers = (current.metadata?.finalizers ?? []).filter((f) => f !== finalizer)
    if (finalizers.length > 0) {
      this.store.put(resourceKey(def), {
        ...current,
        metadata: { ...current.metadata, finalizers },
      })
      return
    }
    const gone = this.store.remove(resourceKey(def), meta.namespace, meta.name ?? '')
    if (gone) this.afterRemoval(def, gone, policy)
  }

  /**
   * Deleting a CRD: it is marked (the apiextensions finalizer, a Terminating condition), its custom
   * resources go, then it goes (here at once, where the real server takes a moment).
   */
  private deleteCrd(def: ResourceDef, crd: KubeObject): KubeObject {
    const marked = this.markDeleting(def, crd, CRD_CLEANUP_FINALIZER)
    // The apiextensions server marks it itself: no grace period, no new generation.
    delete marked.metadata?.deletionGracePeriodSeconds
    if (marked.metadata) marked.metadata.generation = crd.metadata?.generation
    const conditions = (
      Array.isArray(marked.status?.conditions) ? marked.status.conditions : []
    ) as { type?: string }[]
    marked.status = {
      ...marked.status,
      conditions: [
        ...conditions.filter((c) => c?.type !== 'Terminating'),
        {
          type: 'Terminating',
          status: 'True',
          lastTransitionTime: marked.metadata?.deletionTimestamp,
          reason: 'InstanceDeletionPending',
          message:
            'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon',
        },
      ],
    }
    const stored = this.store.put(resourceKey(def), marked)
    this.dropServed(stored.metadata?.name ?? '')
    this.dropFinalizer(def, stored, CRD_CLEANUP_FINALIZER, 'Background')
    return stored
  }

  /** A CRD's kind is no longer served, and its objects go. */
  private dropServed(crdName: string): void {
    const served = this.registry.unregisterCrd(crdName)
    if (!served) return
    for (const o of this.store.list(resourceKey(served))) {
      this.store.remove(resourceKey(served), o.metadata?.namespace, o.metadata?.name ?? '')
    }
  }

  /** After an object is gone: a CRD takes its kind and objects along; dependents are collected. */
  afterRemoval(def: ResourceDef, gone: KubeObject, policy: Propagation): void {
    if (isCrd(def)) this.dropServed(gone.metadata?.name ?? '')
    if (policy === 'Background') this.collectDependents(gone, policy)
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
