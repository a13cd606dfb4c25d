/** One agent at a time: a coordination.k8s.io Lease in the agent's namespace. */
import type { Logger } from '../log.js'
import { sleep } from '../concurrency.js'
import type { KubeObject } from '../manifests/yaml.js'
import { KubeError, type KubeClient } from './client.js'

/** The name of the agent's Lease in its namespace. */
export const AGENT_LEASE = 'gitops-agent'

export interface LeaseOptions {
  namespace: string
  name: string
  /** This agent: its pod's name (a restarted container takes its own lease back). */
  identity: string
  durationSeconds: number
}

/**
 * A Kubernetes MicroTime: the API server parses Lease times with six fractional digits
 * (`2006-01-02T15:04:05.000000Z07:00`) and refuses JavaScript's three.
 */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/**
 * Takes or renews the lease: `renewed` when this agent held it last, `acquired` when it was another's
 * or nobody's (what was written meanwhile is not this agent's to know); false when another holder's
 * lease has not expired.
 */
export async function tryAcquire(
  client: KubeClient,
  options: LeaseOptions,
): Promise<'renewed' | 'acquired' | false> {
  const now = new Date()
  const existing = await client.get({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    name: options.name,
    namespace: options.namespace,
  })
  const spec = (existing?.spec ?? {}) as {
    holderIdentity?: string
    renewTime?: string
    leaseDurationSeconds?: number
    leaseTransitions?: number
  }
  if (existing && spec.holderIdentity && spec.holderIdentity !== options.identity) {
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0
    if (renewed + (spec.leaseDurationSeconds ?? options.durationSeconds) * 1000 > now.getTime())
      return false
  }
  const lease: KubeObject = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      ...(existing ? { resourceVersion: existing.metadata.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: options.identity,
      leaseDurationSeconds: options.durationSeconds,
      acquireTime:
        spec.holderIdentity === options.identity && existing
          ? ((existing.spec as { acquireTime?: string }).acquireTime ?? microTime(now))
          : microTime(now),
      renewTime: microTime(now),
      leaseTransitions:
        (spec.leaseTransitions ?? 0) +
        (spec.holderIdentity && spec.holderIdentity !== options.identity ? 1 : 0),
    },
  }
  try {
    if (existing) await client.replace(lease)
    else await client.create(lease)
    return spec.holderIdentity === options.identity ? 'renewed' : 'acquired'
  } catch (error) {
    // Someone else wrote it between our read and write: theirs wins this round.
    if (error instanceof KubeError && error.code === 409) return false
    throw error
  }
}

/** Waits until the lease is ours, saying so while another agent holds it (see `tryAcquire`). */
export async function acquire(
  client: KubeClient,
  options: LeaseOptions,
  log: Logger,
  signal?: AbortSignal,
): Promise<'renewed' | 'acquired' | false> {
  let said = false
  while (!signal?.aborted) {
    const held = await tryAcquire(client, options)
    if (held) return held
    if (!said) {
      log.info(
        `event=waiting-for-lease lease=${options.namespace}/${options.name}: another agent holds it`,
      )
      said = true
    }
    await sleep(Math.max(1000, (options.durationSeconds * 1000) / 3), signal)
  }
  return false
}

/** Gives the lease up (when this agent holds it), so the next agent need not wait for it to expire. */
export async function release(client: KubeClient, options: LeaseOptions): Promise<void> {
  const ref = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    name: options.name,
    namespace: options.namespace,
  }
  const existing = await client.get(ref)
  const spec = (existing?.spec ?? {}) as Record<string, unknown>
  if (!existing || spec.holderIdentity !== options.identity) return
  try {
    await client.replace({
      ...existing,
      spec: { ...spec, holderIdentity: undefined, renewTime: undefined },
    })
  } catch (error) {
    if (!(error instanceof KubeError && error.code === 409)) throw error
  }
}
