/**
 * install-agent's `wait`: the agent's Deployment rolled out, then the agent's own record in the cluster
 * shows a sync of the branch's head. That record is the per-unit inventory ConfigMaps (each carries the
 * commit the unit was last applied at): read through the API server, never a port-forward. A head that
 * changed none of the agent's units shows once they are applied again (every `--sync-interval`), or at
 * once by a Ready agent pod started after the head was read (`since`). When the time is up, the answer says why: the pods' waiting
 * reasons (ImagePullBackOff, CrashLoopBackOff…) or the agent's last SyncFailed Event.
 */
import { Backoff } from '../backoff.js'
import { sleep } from '../concurrency.js'
import { errorMessage } from '../errors.js'
import { KubeError, type KubeClient } from '../kube/client.js'
import { healthOf } from '../kube/health.js'
import { listInventories, type Inventory } from '../kube/inventory.js'
import type { Logger } from '../log.js'
import type { KubeObject } from '../manifests/yaml.js'
import { AGENT_DEPLOYMENT } from './manifests.js'

export interface WaitOptions {
  /** The agent's namespace (its inventories are there, labelled with it as the agent's name). */
  namespace: string
  /** Default `gitops-agent` (deploy/base's). */
  deployment?: string
  /** The branch head to wait for; without it, any recorded sync will do. */
  commit?: string
  /**
   * When `commit` was read as the head (before the install applied anything). An agent pod created
   * after it that is Ready has synced `commit` or a later head: the agent is Ready only once a sync has
   * completed since it started (deploy/base's readiness probe on /readyz). That tells a restarted agent
   * has synced a head that changed none of its units, which its inventories show only later.
   */
  since?: Date
  timeoutMs: number
  log: Logger
  /** The longest pause between two looks (default 5 s; the first are shorter). */
  intervalMs?: number
}

export interface AgentWait {
  ready: boolean
  /** The commit the agent recorded: `commit` when given, else the latest unit's. */
  syncedCommit?: string
  /** The agent image's tag (or digest), from the Deployment. */
  agentVersion?: string
  /** The agent's image, as the Deployment names it. */
  image?: string
  /** The units the agent had recorded when it was found ready (their paths in the gitops repo), sorted. */
  units: string[]
  /** When not ready: why, for the error the caller raises. */
  reason?: string
}

/** A container waiting for these is on its way, not stuck. */
const ON_ITS_WAY = new Set(['ContainerCreating', 'PodInitializing'])
/** The agent's Events name it as their source (src/agent/report/events.ts). */
const AGENT_COMPONENT = 'gitops-agent'

type Look =
  | { state: 'synced'; synced: AgentWait }
  | { state: 'waiting' | 'failed'; why: string; rolledOut: boolean }

/** Waits until the agent has rolled out and recorded a sync of `commit`, or the time is up. */
export async function waitForAgent(client: KubeClient, options: WaitOptions): Promise<AgentWait> {
  const { namespace, timeoutMs, log } = options
  const name = options.deployment ?? AGENT_DEPLOYMENT
  const deadline = Date.now() + timeoutMs
  const backoff = new Backoff({
    baseMs: Math.min(500, options.intervalMs ?? 5000),
    capMs: options.intervalMs ?? 5000,
    jitter: 'equal',
  })
  let said = ''
  let deployment: KubeObject | undefined
  for (;;) {
    let look: Look
    try {
      deployment = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name })
      look = await lookAt(client, namespace, name, deployment, options)
    } catch (error) {
      // Without the right to read, waiting longer changes nothing.
      if (error instanceof KubeError && (error.code === 401 || error.code === 403))
        return notReady(deployment, `cannot read the agent's state: ${errorMessage(error)}`)
      look = {
        state: 'waiting',
        why: `the API server failed: ${errorMessage(error)}`,
        rolledOut: false,
      }
    }
    if (look.state === 'synced') {
      const { syncedCommit, units } = look.synced
      log.info(`the agent synced ${syncedCommit ?? 'since it started'}: ${units.length} unit(s)`)
      return look.synced
    }
    if (look.why !== said) log.info(`waiting for the agent: ${look.why}`)
    said = look.why
    const left = deadline - Date.now()
    if (look.state === 'failed' || left <= 0) {
      const after =
        look.state === 'failed'
          ? look.why
          : `the agent is not ready after ${Math.round(timeoutMs / 1000)}s: ${look.why}`
      return notReady(deployment, await explain(client, namespace, deployment, look, after))
    }
    await sleep(Math.min(backoff.next(), left))
  }
}

/** One look at the Deployment and the inventories. */
async function lookAt(
  client: KubeClient,
  namespace: string,
  name: string,
  deployment: KubeObject | undefined,
  { commit, since }: Pick<WaitOptions, 'commit' | 'since'>,
): Promise<Look> {
  if (!deployment)
    return {
      state: 'waiting',
      why: `the Deployment ${namespace}/${name} does not exist`,
      rolledOut: false,
    }
  // The same rollout rules as the agent's own health checks (kstatus).
  const health = healthOf(deployment)
  // A deadline passed by the previous generation (a bad image the install just replaced) is stale.
  const observed =
    (deployment.status as { observedGeneration?: number } | undefined)?.observedGeneration ===
    deployment.metadata.generation
  if (health.state !== 'healthy')
    return {
      state: health.state === 'failed' && observed ? 'failed' : 'waiting',
      why: `the Deployment ${namespace}/${name} has not rolled out: ${health.message}`,
      rolledOut: false,
    }
  // The agent names itself after its namespace (src/agent/main.ts).
  const inventories = [...(await listInventories(client, namespace, namespace)).values()]
  const synced = syncedCommit(inventories, commit)
  // Without a unit recorded at the commit, a Ready agent that started after it was read (or, without a
  // commit, any Ready agent: one whose paths hold no unit records none).
  const startedAfter = commit ? since : new Date(0)
  const readyPod = !synced && startedAfter && (await readySince(client, deployment, startedAfter))
  if (synced || readyPod)
    return {
      state: 'synced',
      synced: {
        ready: true,
        syncedCommit: synced || commit,
        units: inventories.map((i) => i.unit).sort(),
        ...versionOf(deployment),
      },
    }
  const seen = [...new Set(inventories.map((i) => i.commit.slice(0, 12)))].join(', ')
  return {
    state: 'waiting',
    why: commit
      ? `rolled out but no sync of ${commit} yet (${inventories.length ? `the agent's units are at ${seen}; a commit that changes none of them is recorded when each is applied again, every --sync-interval` : 'no unit recorded'})`
      : 'rolled out but no sync recorded yet',
    rolledOut: true,
  }
}

/**
 * The commit the inventories show a sync of: `commit` when a unit was recorded at it; without one, the
 * commit of the unit applied last. A unit records the commit it was last applied at.
 */
function syncedCommit(inventories: Inventory[], commit: string | undefined): string | undefined {
  // An empty digest marks a unit that failed part-way: recorded to be pruned later, not synced.
  const applied = inventories.filter((i) => i.digest !== '')
  if (commit) return applied.some((i) => i.commit === commit) ? commit : undefined
  const latest = applied.sort((a, b) => b.lastApplied.localeCompare(a.lastApplied))[0]
  return latest?.commit || undefined
}

/** The agent container's image and its tag (or digest): the version the summary shows. */
function versionOf(deployment: KubeObject | undefined): { image?: string; agentVersion?: string } {
  const spec = deployment?.spec as
    { template?: { spec?: { containers?: { name?: string; image?: string }[] } } } | undefined
  const containers = spec?.template?.spec?.containers ?? []
  const image = (containers.find((c) => c.name === 'agent') ?? containers[0])?.image
  if (!image) return {}
  const [named, digest] = image.split('@')
  const last = named.slice(named.lastIndexOf('/') + 1)
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : undefined
  return { image, agentVersion: tag ?? (digest ? digest.slice(0, 19) : 'latest') }
}

function notReady(deployment: KubeObject | undefined, reason: string): AgentWait {
  return { ready: false, units: [], reason, ...versionOf(deployment) }
}

/** Why the agent is not ready: the wait's own reason, with what the pods or the agent's Events say. */
async function explain(
  client: KubeClient,
  namespace: string,
  deployment: KubeObject | undefined,
  look: Exclude<Look, { state: 'synced' }>,
  why: string,
): Promise<string> {
  const parts = [why]
  // What is asked only to explain never hides the reason itself.
  try {
    if (deployment && !look.rolledOut) parts.push(...(await podProblems(client, deployment)))
    const lastError = await agentLastError(client, namespace)
    if (lastError) parts.push(`the agent's last error: ${lastError}`)
  } catch (error) {
    parts.push(`(could not read the pods or Events: ${errorMessage(error)})`)
  }
  return parts.join('; ')
}

interface ContainerStatus {
  name: string
  ready?: boolean
  state?: {
    waiting?: { reason?: string; message?: string }
    running?: unknown
    terminated?: Terminated
  }
  lastState?: { terminated?: Terminated }
}
interface Terminated {
  exitCode?: number
  reason?: string
  message?: string
}

interface PodStatus {
  conditions?: { type: string; status: string; reason?: string; message?: string }[]
  initContainerStatuses?: ContainerStatus[]
  containerStatuses?: ContainerStatus[]
}

/** The Deployment's pods (by its selector's `matchLabels`, as deploy/base has it), but those deleted. */
async function podsOf(client: KubeClient, deployment: KubeObject): Promise<KubeObject[]> {
  const spec = deployment.spec as
    { selector?: { matchLabels?: Record<string, string> } } | undefined
  const match = spec?.selector?.matchLabels
  if (!match) return []
  const labelSelector = Object.entries(match)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
  const pods = await client.list('v1', 'Pod', {
    namespace: deployment.metadata.namespace,
    labelSelector,
  })
  return pods.filter((pod) => !pod.metadata.deletionTimestamp)
}

/** Whether one of the agent's pods was created at or after `since` and is Ready. */
async function readySince(
  client: KubeClient,
  deployment: KubeObject,
  since: Date,
): Promise<boolean> {
  return (await podsOf(client, deployment)).some((pod) => {
    const created = Date.parse(String(pod.metadata.creationTimestamp))
    const ready = (pod.status as PodStatus | undefined)?.conditions?.some(
      (c) => c.type === 'Ready' && c.status === 'True',
    )
    // Kubernetes' timestamps are in whole seconds.
    return ready === true && created >= Math.floor(since.getTime() / 1000) * 1000
  })
}

/** The Deployment's pods that are stuck, and why: unscheduled, an image not pulled, a crash loop. */
async function podProblems(client: KubeClient, deployment: KubeObject): Promise<string[]> {
  const namespace = deployment.metadata.namespace ?? ''
  const problems: string[] = []
  for (const pod of await podsOf(client, deployment)) {
    const name = `pod ${pod.metadata.name}`
    const status = (pod.status ?? {}) as PodStatus
    const unscheduled = status.conditions?.find(
      (c) => c.type === 'PodScheduled' && c.status === 'False',
    )
    if (unscheduled)
      problems.push(
        `${name} is not scheduled: ${[unscheduled.reason, unscheduled.message].filter(Boolean).join(': ')}`,
      )
    for (const c of [
      ...(status.initContainerStatuses ?? []),
      ...(status.containerStatuses ?? []),
    ]) {
      const waiting = c.state?.waiting
      const exited = c.state?.terminated ?? c.lastState?.terminated
      const exit = exited
        ? ` (last exit code ${exited.exitCode ?? '?'}${exited.reason ? ` ${exited.reason}` : ''}${exited.message ? `: ${exited.message.trim()}` : ''})`
        : ''
      if (waiting?.reason && !ON_ITS_WAY.has(waiting.reason))
        problems.push(
          `${name}: container ${c.name} ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}${exit}`,
        )
      else if (c.state?.running && c.ready === false)
        problems.push(
          `${name}: container ${c.name} runs but is not ready (it is once it has synced since it started and reaches the git remote: see kubectl logs -n ${namespace} ${pod.metadata.name})`,
        )
    }
  }
  return problems
}

/** The message of the agent's latest SyncFailed Event for a unit that has not synced since. */
async function agentLastError(client: KubeClient, namespace: string): Promise<string | undefined> {
  const events = (await client.list('v1', 'Event', { namespace })).filter(
    (e) =>
      (e.source as { component?: string } | undefined)?.component === AGENT_COMPONENT ||
      e.reportingComponent === AGENT_COMPONENT,
  )
  const text = (v: unknown): string => (typeof v === 'string' ? v : '')
  const at = (e: KubeObject): string =>
    text(e.lastTimestamp) || text(e.eventTime) || text(e.metadata.creationTimestamp)
  // The last Event per unit (each message starts with `<unit>: `): a unit that recovered is no error.
  const lastByUnit = new Map<string, KubeObject>()
  for (const e of events.sort((a, b) => at(a).localeCompare(at(b))))
    lastByUnit.set(text(e.message).split(': ')[0], e)
  const failed = [...lastByUnit.values()].filter((e) => e.reason === 'SyncFailed')
  return failed.length ? text(failed[failed.length - 1].message) : undefined
}
