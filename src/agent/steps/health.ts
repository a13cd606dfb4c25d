/**
 * Step 6: the health of what was rolled out (waited for, up to --health-timeout), and of what earlier
 * cycles rolled out. Outcomes are updated in place: an unhealthy unit fails.
 */
import { errorMessage } from '../../lib/errors.js'
import { needsWait, waitHealthy } from '../../lib/kube/health.js'
import { refOf, type ObjectRef } from '../../lib/manifests/identity.js'
import type { Unit } from '../units.js'
import type { AgentContext } from './context.js'
import type { UnitOutcome } from './outcome.js'

/** Every unit's workloads at once: one slow rollout does not hold back the others' checks. */
export async function health(
  ctx: AgentContext,
  outcomes: UnitOutcome[],
  units: Unit[],
): Promise<void> {
  const unitOf = new Map(units.map((u) => [u.path, u]))
  await Promise.all(
    outcomes.map(async (outcome) => {
      try {
        await checkHealth(ctx, outcome, unitOf.get(outcome.unit))
      } catch (error) {
        // The API server failing mid-check: the unit's health is unknown, never the agent's end.
        if (outcome.status === 'synced') {
          outcome.status = 'failed'
          outcome.error = `health unknown: ${errorMessage(error)}`
        } else {
          ctx.log.warn(`event=health-unknown unit=${outcome.unit}: ${errorMessage(error)}`)
        }
      }
    }),
  )
}

/** Waits for what the unit applied; looks at what an earlier cycle applied. */
async function checkHealth(
  { config, client, limiter }: AgentContext,
  outcome: UnitOutcome,
  unit: Unit | undefined,
): Promise<void> {
  if (outcome.status === 'synced') {
    const applied = outcome.changes.filter((c) => c.action === 'applied').map((c) => c.ref)
    const health = await waitHealthy(client, applied, config.healthTimeoutMs, { limiter })
    outcome.healthy = health.healthy
    if (!health.healthy) {
      outcome.status = 'failed'
      outcome.error = `unhealthy: ${health.problems.join('; ')}`
    }
  } else if (outcome.status === 'unchanged') {
    // Nothing applied now, but a rollout an earlier cycle began may still fail or recover: --once
    // waits for it as for its own; a running agent looks once and reports only a failure.
    const refs = workloads(unit, config.defaultNamespace)
    if (refs.length === 0) return
    const health = await waitHealthy(client, refs, config.once ? config.healthTimeoutMs : 0, {
      limiter,
    })
    if (health.healthy) outcome.healthy = true
    else if (health.failed || config.once) {
      outcome.healthy = false
      outcome.status = 'failed'
      outcome.error = `unhealthy: ${health.problems.join('; ')}`
    }
  }
}

/** The unit's objects whose health is waited for (workloads), where they live. */
function workloads(unit: Unit | undefined, defaultNamespace: string): ObjectRef[] {
  return (unit?.objects ?? [])
    .map((m) => refOf(m.object))
    .filter(needsWait)
    .map((ref) => ({ ...ref, namespace: ref.namespace ?? defaultNamespace }))
}
