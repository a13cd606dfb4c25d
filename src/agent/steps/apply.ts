/**
 * Step 3b, per unit: server-side apply of the objects it applies, in stages (CRDs and Namespaces, then
 * cluster-scoped objects, then the rest). Units that bring Namespaces or CRDs go first, one by one.
 */
import { applyObjects, stages, type ChangeEntry } from '../../lib/kube/apply.js'
import type { Unit } from '../units.js'
import type { AgentContext, CycleState, Step } from './context.js'
import { outcome, summarize, type UnitOutcome } from './outcome.js'
import type { Prepared } from './prepare.js'
import { recordPartial } from './record.js'

/** The unit's changes; any object failing fails the unit, after recording what did apply. */
export async function apply(
  ctx: AgentContext,
  cycle: CycleState,
  prepared: Prepared,
): Promise<Step<ChangeEntry[], UnitOutcome>> {
  const { config, client, limiter } = ctx
  const { unit, objects } = prepared
  const changes = prepared.applyWanted
    ? await applyObjects(client, stages(objects.filter((r) => r.ours)), {
        limiter,
        newKinds: cycle.crdKinds,
        dryRun: config.dryRun,
      })
    : []
  const failures = changes.filter((c) => c.action === 'failed')
  if (failures.length === 0) return { next: changes }
  ctx.retries.failed(unit)
  if (!config.dryRun && changes.some((c) => c.action === 'applied'))
    await recordPartial(ctx, cycle.commit, prepared, changes)
  return {
    end: outcome(unit, 'failed', cycle.commit, {
      changes,
      applied: changes.length - failures.length,
      error: summarize(failures.map((f) => f.error ?? 'failed')),
    }),
  }
}

/**
 * The units in the order they are applied: those bringing Namespaces or CRDs first, one at a time
 * (other units' objects may live in them; a shared one is applied by the first that declares it),
 * then the others, a few at a time.
 */
export function applyOrder(units: Unit[]): { oneByOne: Unit[]; together: Unit[] } {
  const provides = (u: Unit) =>
    u.objects.some(
      (m) => m.object.kind === 'Namespace' || m.object.kind === 'CustomResourceDefinition',
    )
  return { oneByOne: units.filter(provides), together: units.filter((u) => !provides(u)) }
}
