/**
 * What kube-apiserver's apiextensions controllers do with a new CustomResourceDefinition: the naming
 * controller accepts its names at once (`NamesAccepted=True`, `Established=False` reason `Installing`),
 * the establishing controller sets `Established=True` a moment later, and only then are its kind's
 * REST routes and discovery served (until then a request for it answers `404 page not found`).
 */
import { acceptedNames, crdCondition, isEstablished } from './admission.js'
import { asList, type KubeObject } from './json.js'
import { isCrd, resourceKey } from './resources.js'
import type { Rest } from './rest.js'
import type { StoreEvent } from './store.js'

/** The field manager of the API server's own status writes. */
const MANAGER = 'kube-apiserver'

const CRDS = 'apiextensions.k8s.io/customresourcedefinitions'

export class CrdController {
  /** CRDs (by uid) on their way to Established. */
  private readonly pending = new Set<string>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private unsubscribe?: () => void

  /** `delayMs`: from a CRD's creation to `Established=True` (0: the create establishes it itself). */
  constructor(
    private readonly rest: Rest,
    private readonly delayMs: number,
  ) {}

  start(): void {
    if (this.delayMs <= 0) return
    this.unsubscribe = this.rest.store.subscribe((e) => this.onEvent(e))
  }

  stop(): void {
    this.unsubscribe?.()
    this.timers.forEach((t) => clearTimeout(t))
    this.timers.clear()
    this.pending.clear()
  }

  private onEvent(event: StoreEvent): void {
    if (event.resource !== CRDS || event.type === 'DELETED') return
    const crd = event.object
    const uid = crd.metadata?.uid ?? ''
    if (crd.metadata?.deletionTimestamp || isEstablished(crd) || this.pending.has(uid)) return
    // The naming controller runs as soon as it sees the CRD, the establishing one `delayMs` later.
    this.pending.add(uid)
    this.after(0, () => {
      if (!this.acceptNames(crd)) return void this.pending.delete(uid)
      this.after(this.delayMs, () => {
        this.establish(crd)
        this.pending.delete(uid)
      })
    })
  }

  private after(delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      fn()
    }, delayMs)
    timer.unref()
    this.timers.add(timer)
  }

  /** The CRD as stored now, if it is still the same one and not being deleted. */
  private current(seen: KubeObject): KubeObject | undefined {
    const crd = this.rest.store.get(CRDS, undefined, seen.metadata?.name ?? '')
    if (!crd || crd.metadata?.uid !== seen.metadata?.uid || crd.metadata?.deletionTimestamp) return
    return crd
  }

  private writeStatus(crd: KubeObject, status: Record<string, unknown>): void {
    const def = this.rest.registry.all().find((d) => isCrd(d) && resourceKey(d) === CRDS)
    if (def) this.rest.updateStatus(def, crd, status, MANAGER)
  }

  /** Accepts a CRD's names; false if it is gone (or already established). */
  private acceptNames(seen: KubeObject): boolean {
    const crd = this.current(seen)
    if (!crd || isEstablished(crd)) return false
    this.writeStatus(crd, {
      ...(crd.status as Record<string, unknown> | undefined),
      conditions: [
        crdCondition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
        crdCondition('Established', 'False', 'Installing', 'the initial names have been accepted'),
      ],
      acceptedNames: acceptedNames(crd),
    })
    return true
  }

  private establish(seen: KubeObject): void {
    const crd = this.current(seen)
    if (!crd || isEstablished(crd)) return
    const conditions = asList(crd.status?.conditions).filter((c) => c?.type !== 'Established')
    this.writeStatus(crd, {
      ...(crd.status as Record<string, unknown> | undefined),
      conditions: [
        ...conditions,
        crdCondition(
          'Established',
          'True',
          'InitialNamesAccepted',
          'the initial names have been accepted',
        ),
      ],
      acceptedNames: acceptedNames(crd),
    })
  }
}
