/**
 * A stand-in for kube-controller-manager's workload controllers: no Pods, just the status a real
 * rollout ends with, written through `/status` a moment after each spec change. A container image
 * containing the failing marker never becomes ready, so tests can see a rollout fail.
 */
import { createHash } from 'node:crypto'
import { asList, timestamp, type KubeObject } from './json.js'
import { resourceKey, type ResourceDef } from './resources.js'
import type { Rest } from './rest.js'
import type { StoreEvent } from './store.js'

export interface ControllerOptions {
  /** Delay between a spec change and the status that reports it rolled out (default 50 ms). */
  rolloutDelayMs: number
  /** An image containing this substring never becomes ready (default `fail`). */
  failingImageMarker: string
  /** How long a failing Deployment keeps `Progressing=True` before `ProgressDeadlineExceeded` (default 500 ms). */
  progressDeadlineMs: number
  /** How many nodes DaemonSets schedule onto (default 1). */
  nodes: number
}

const MANAGER = 'kube-controller-manager'
const WATCHED = ['apps/deployments', 'apps/statefulsets', 'apps/daemonsets', 'batch/jobs']

/** A ReplicaSet-style hash of the pod template (what revision names carry). */
function templateHash(object: KubeObject): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  const digest = createHash('sha256')
    .update(JSON.stringify(object.spec?.template ?? {}))
    .digest()
  return [...digest.subarray(0, 10)].map((b) => alphabet[b % alphabet.length]).join('')
}

function images(object: KubeObject): string[] {
  const pod = object.spec?.template?.spec ?? {}
  const containers = [...asList(pod.containers), ...asList(pod.initContainers)]
  return containers.map((c) => String(c?.image ?? ''))
}

function condition(type: string, status: string, reason: string, message: string, now: string) {
  return { type, status, reason, message, lastUpdateTime: now, lastTransitionTime: now }
}

export class WorkloadController {
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private unsubscribe?: () => void

  constructor(
    private readonly rest: Rest,
    private readonly options: ControllerOptions,
  ) {}

  start(): void {
    this.unsubscribe = this.rest.store.subscribe((e) => this.onEvent(e))
  }

  stop(): void {
    this.unsubscribe?.()
    this.timers.forEach((t) => clearTimeout(t))
    this.timers.clear()
  }

  /** True while a status update is still due (tests may wait for it). */
  get busy(): boolean {
    return this.timers.size > 0
  }

  private onEvent(event: StoreEvent): void {
    if (!WATCHED.includes(event.resource) || event.type === 'DELETED') return
    const object = event.object
    if (object.metadata?.deletionTimestamp) return
    const done =
      event.resource === 'batch/jobs'
        ? asList(object.status?.conditions).some((c: any) =>
            ['Complete', 'Failed'].includes(String(c?.type)),
          )
        : object.status?.observedGeneration === object.metadata?.generation
    if (!done)
      this.schedule(event.resource, object, this.options.rolloutDelayMs, () =>
        this.reconcile(event.resource, object),
      )
  }

  private schedule(
    resource: string,
    object: KubeObject,
    delayMs: number,
    fn: () => void,
    suffix = '',
  ): void {
    const key = `${resource}/${object.metadata?.namespace}/${object.metadata?.name}${suffix}`
    if (this.timers.has(key)) return
    const timer = setTimeout(() => {
      this.timers.delete(key)
      fn()
    }, delayMs)
    timer.unref()
    this.timers.set(key, timer)
  }

  private def(resource: string): ResourceDef | undefined {
    return this.rest.registry.all().find((d) => resourceKey(d) === resource)
  }

  private current(resource: string, object: KubeObject): KubeObject | undefined {
    return this.rest.store.get(resource, object.metadata?.namespace, object.metadata?.name ?? '')
  }

  private reconcile(resource: string, seen: KubeObject): void {
    const def = this.def(resource)
    const object = this.current(resource, seen)
    if (!def || !object || object.metadata?.deletionTimestamp) return
    const failing = images(object).some((i) => i.includes(this.options.failingImageMarker))
    const status = this.statusFor(def.kind, object, failing)
    this.rest.updateStatus(def, object, status, MANAGER)
    if (failing && def.kind === 'Deployment') {
      const generation = object.metadata?.generation
      this.schedule(
        resource,
        object,
        this.options.progressDeadlineMs,
        () => this.deadline(resource, object, generation),
        '#deadline',
      )
    }
  }

  /** A failing Deployment that is still at the same generation gives up, as after progressDeadlineSeconds. */
  private deadline(resource: string, seen: KubeObject, generation: number | undefined): void {
    const def = this.def(resource)
    const object = this.current(resource, seen)
    if (!def || !object || object.metadata?.generation !== generation) return
    const now = timestamp()
    const conditions = asList(object.status?.conditions).map((c: any) =>
      c?.type === 'Progressing'
        ? condition(
            'Progressing',
            'False',
            'ProgressDeadlineExceeded',
            `ReplicaSet "${object.metadata?.name}-${templateHash(object)}" has timed out progressing.`,
            now,
          )
        : c,
    )
    this.rest.updateStatus(def, object, { ...object.status, conditions }, MANAGER)
  }

  private statusFor(kind: string, object: KubeObject, failing: boolean): Record<string, unknown> {
    const now = timestamp()
    const generation = object.metadata?.generation
    const name = object.metadata?.name ?? ''
    const revision = `${name}-${templateHash(object)}`
    const replicas = Number(object.spec?.replicas ?? 1)
    const ready = failing ? 0 : replicas
    switch (kind) {
      case 'Deployment':
        return {
          observedGeneration: generation,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: ready,
          availableReplicas: ready,
          ...(failing ? { unavailableReplicas: replicas } : {}),
          conditions: failing
            ? [
                condition(
                  'Available',
                  'False',
                  'MinimumReplicasUnavailable',
                  'Deployment does not have minimum availability.',
                  now,
                ),
                condition(
                  'Progressing',
                  'True',
                  'ReplicaSetUpdated',
                  `ReplicaSet "${revision}" is progressing.`,
                  now,
                ),
              ]
            : [
                condition(
                  'Available',
                  'True',
                  'MinimumReplicasAvailable',
                  'Deployment has minimum availability.',
                  now,
                ),
                condition(
                  'Progressing',
                  'True',
                  'NewReplicaSetAvailable',
                  `ReplicaSet "${revision}" has successfully progressed.`,
                  now,
                ),
              ],
        }
      case 'StatefulSet':
        return {
          observedGeneration: generation,
          replicas,
          readyReplicas: ready,
          availableReplicas: ready,
          currentReplicas: failing ? 0 : replicas,
          updatedReplicas: replicas,
          currentRevision: failing ? (object.status?.currentRevision ?? revision) : revision,
          updateRevision: revision,
          collisionCount: 0,
        }
      case 'DaemonSet': {
        const nodes = this.options.nodes
        return {
          observedGeneration: generation,
          desiredNumberScheduled: nodes,
          currentNumberScheduled: nodes,
          updatedNumberScheduled: nodes,
          numberMisscheduled: 0,
          numberReady: failing ? 0 : nodes,
          numberAvailable: failing ? 0 : nodes,
          ...(failing ? { numberUnavailable: nodes } : {}),
        }
      }
      default: {
        // Job
        const completions = Number(object.spec?.completions ?? 1)
        const start = object.status?.startTime ?? now
        return failing
          ? {
              startTime: start,
              failed: Number(object.spec?.backoffLimit ?? 6) + 1,
              conditions: [
                condition(
                  'FailureTarget',
                  'True',
                  'BackoffLimitExceeded',
                  'Job has reached the specified backoff limit',
                  now,
                ),
                condition(
                  'Failed',
                  'True',
                  'BackoffLimitExceeded',
                  'Job has reached the specified backoff limit',
                  now,
                ),
              ],
            }
          : {
              startTime: start,
              completionTime: now,
              succeeded: completions,
              conditions: [
                condition(
                  'SuccessCriteriaMet',
                  'True',
                  'CompletionsReached',
                  'Reached expected number of succeeded pods',
                  now,
                ),
                condition(
                  'Complete',
                  'True',
                  'CompletionsReached',
                  'Reached expected number of succeeded pods',
                  now,
                ),
              ],
            }
      }
    }
  }
}
