/**
 * Health of what was rolled out, by the rules of kstatus (Flux's `ssa/manager_wait.go`): Deployments,
 * StatefulSets and DaemonSets roll out, Jobs finish. Other kinds are healthy once applied.
 */
import { sleep, type Limiter } from '../concurrency.js'
import type { KubeObject } from '../manifests/yaml.js'
import { describeRef, type ObjectRef } from '../manifests/identity.js'
import type { KubeClient } from './client.js'

export type Health =
  | { state: 'healthy' }
  | { state: 'progressing'; message: string }
  | { state: 'failed'; message: string }

interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
}

const WAITED = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job'])

export function needsWait(ref: ObjectRef): boolean {
  return WAITED.has(ref.kind)
}

/** The health of one live object. */
export function healthOf(object: KubeObject): Health {
  const spec = (object.spec ?? {}) as Record<string, unknown>
  const status = (object.status ?? {}) as Record<string, unknown>
  const generation = (object.metadata.generation as number | undefined) ?? 0
  const observed = (status.observedGeneration as number | undefined) ?? 0
  const conditions = (status.conditions ?? []) as Condition[]
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0)
  switch (object.kind) {
    case 'Deployment': {
      const deadline = conditions.find(
        (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
      )
      if (deadline)
        return { state: 'failed', message: deadline.message ?? 'progress deadline exceeded' }
      if (observed < generation)
        return { state: 'progressing', message: 'the new generation is not observed yet' }
      const want = spec.replicas === undefined ? 1 : num(spec.replicas)
      if (num(status.updatedReplicas) < want)
        return {
          state: 'progressing',
          message: `${num(status.updatedReplicas)}/${want} replicas updated`,
        }
      if (num(status.availableReplicas) < want)
        return {
          state: 'progressing',
          message: `${num(status.availableReplicas)}/${want} replicas available`,
        }
      if (num(status.replicas) > want)
        return { state: 'progressing', message: 'old replicas are terminating' }
      return { state: 'healthy' }
    }
    case 'StatefulSet': {
      if (observed < generation)
        return { state: 'progressing', message: 'the new generation is not observed yet' }
      const want = spec.replicas === undefined ? 1 : num(spec.replicas)
      if (num(status.readyReplicas) < want)
        return {
          state: 'progressing',
          message: `${num(status.readyReplicas)}/${want} replicas ready`,
        }
      const strategy =
        (spec.updateStrategy as { type?: string } | undefined)?.type ?? 'RollingUpdate'
      if (
        strategy === 'RollingUpdate' &&
        status.updateRevision &&
        status.currentRevision !== status.updateRevision
      ) {
        return { state: 'progressing', message: 'the rolling update is in progress' }
      }
      return { state: 'healthy' }
    }
    case 'DaemonSet': {
      if (observed < generation)
        return { state: 'progressing', message: 'the new generation is not observed yet' }
      const want = num(status.desiredNumberScheduled)
      if (num(status.updatedNumberScheduled) < want)
        return {
          state: 'progressing',
          message: `${num(status.updatedNumberScheduled)}/${want} pods updated`,
        }
      if (num(status.numberAvailable) < want)
        return {
          state: 'progressing',
          message: `${num(status.numberAvailable)}/${want} pods available`,
        }
      return { state: 'healthy' }
    }
    case 'Job': {
      const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True')
      if (failed)
        return { state: 'failed', message: failed.message ?? failed.reason ?? 'the job failed' }
      if (conditions.some((c) => c.type === 'Complete' && c.status === 'True'))
        return { state: 'healthy' }
      return { state: 'progressing', message: 'the job has not finished' }
    }
    default:
      return { state: 'healthy' }
  }
}

export interface HealthResult {
  healthy: boolean
  /** An object failed (not merely still progressing when the time was up). */
  failed: boolean
  /** `Kind/ns/name: why` for each object that is not healthy. */
  problems: string[]
}

/**
 * Polls the objects until all are healthy, one fails, or the timeout passes. The objects are read
 * together, within the caller's request budget.
 */
export async function waitHealthy(
  client: KubeClient,
  refs: ObjectRef[],
  timeoutMs: number,
  options: { limiter: Limiter; intervalMs?: number },
): Promise<HealthResult> {
  const pending = refs.filter(needsWait)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const healths = await Promise.all(
      pending.map((ref) =>
        options.limiter.run(async (): Promise<Health> => {
          const live = await client.get(ref)
          return live ? healthOf(live) : { state: 'failed', message: 'not found' }
        }),
      ),
    )
    const problems: string[] = []
    let failed = false
    healths.forEach((health, i) => {
      if (health.state === 'failed') failed = true
      if (health.state !== 'healthy') problems.push(`${describeRef(pending[i])}: ${health.message}`)
    })
    if (problems.length === 0) return { healthy: true, failed: false, problems }
    if (failed || Date.now() >= deadline) {
      return {
        healthy: false,
        failed,
        problems: failed
          ? problems
          : problems.map((p) => `${p} (timed out after ${Math.round(timeoutMs / 1000)}s)`),
      }
    }
    await sleep(options.intervalMs ?? 500)
  }
}
