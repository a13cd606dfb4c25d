/**
 * Applying and pruning, after Flux's `ssa` package: apply in stages (CRDs and Namespaces, then other
 * cluster-scoped objects, then the rest) with bounded concurrency, one change-set entry per object; prune
 * by inventory, only what still carries the unit's label and is not protected.
 */
import type { Limiter } from '../concurrency.js'
import { canonicalJson } from '../manifests/objects.js'
import type { KubeObject } from '../manifests/yaml.js'
import { describeRef, KubeError, refOf, type KubeClient, type ObjectRef } from './client.js'
import {
  AGENT_LABEL,
  FIELD_MANAGER,
  PROTECTED_KINDS,
  PRUNE_ANNOTATION,
  UNIT_LABEL,
} from './labels.js'

export type Action =
  'created' | 'configured' | 'unchanged' | 'applied' | 'deleted' | 'failed' | 'skipped'

export interface ChangeEntry {
  ref: ObjectRef
  action: Action
  error?: string
}

/** Puts CRDs and Namespaces first, then cluster-scoped objects, then namespaced ones. */
export function stages(objects: { object: KubeObject; namespaced: boolean }[]): KubeObject[][] {
  const first = objects.filter(
    (o) => o.object.kind === 'CustomResourceDefinition' || o.object.kind === 'Namespace',
  )
  const cluster = objects.filter((o) => !first.includes(o) && !o.namespaced)
  const rest = objects.filter((o) => !first.includes(o) && o.namespaced)
  return [first, cluster, rest].map((s) => s.map((o) => o.object)).filter((s) => s.length > 0)
}

/** The parts of a live object that say what it is, without what the server stamps on it. */
function comparable(object: KubeObject): string {
  const { metadata, status: _status, ...rest } = object
  const {
    managedFields: _m,
    resourceVersion: _r,
    generation: _g,
    creationTimestamp: _c,
    uid: _u,
    ...meta
  } = metadata
  return canonicalJson({ ...rest, metadata: meta })
}

/**
 * Applies objects stage by stage. With `dryRun`, nothing is written: each object is applied with the
 * server's dry run and compared with the live one to say created / configured / unchanged.
 */
export async function applyObjects(
  client: KubeClient,
  objectStages: KubeObject[][],
  options: { limiter: Limiter; dryRun: boolean },
): Promise<ChangeEntry[]> {
  const entries: ChangeEntry[] = []
  for (const stage of objectStages) {
    const results = await Promise.all(
      stage.map((object) =>
        options.limiter.run(async (): Promise<ChangeEntry> => {
          const ref = refOf(object)
          try {
            if (!options.dryRun) {
              await client.apply(object, { fieldManager: FIELD_MANAGER, force: true })
              return { ref, action: 'applied' }
            }
            const live = await client.get(ref)
            if (!live) return { ref, action: 'created' }
            const planned = await client.apply(object, {
              fieldManager: FIELD_MANAGER,
              force: true,
              dryRun: true,
            })
            return {
              ref,
              action: comparable(planned) === comparable(live) ? 'unchanged' : 'configured',
            }
          } catch (error) {
            return {
              ref,
              action: 'failed',
              error: error instanceof Error ? error.message : String(error),
            }
          }
        }),
      ),
    )
    entries.push(...results)
    // A failed CRD or Namespace would fail everything after it: stop here.
    if (results.some((r) => r.action === 'failed')) break
  }
  return entries
}

/**
 * Deletes what a unit's inventory had and nobody declares now, if the live object still carries the
 * unit's label and is neither protected (Namespaces, CRDs, PVCs, unless annotated `prune: allow`) nor
 * annotated `prune: disabled`. `dryRun` only says what would go.
 */
export async function pruneObjects(
  client: KubeClient,
  candidates: ObjectRef[],
  owner: { agent: string; unit: string },
  options: { dryRun: boolean; limiter: Limiter },
): Promise<ChangeEntry[]> {
  return Promise.all(
    candidates.map((ref) =>
      options.limiter.run(async (): Promise<ChangeEntry> => {
        try {
          const live = await client.get(ref)
          if (!live) return { ref, action: 'skipped', error: 'already gone' }
          const labels = (live.metadata.labels ?? {}) as Record<string, string>
          const annotations = (live.metadata.annotations ?? {}) as Record<string, string>
          if (labels[UNIT_LABEL] !== owner.unit || labels[AGENT_LABEL] !== owner.agent)
            return { ref, action: 'skipped', error: 'now belongs to another unit or to nobody' }
          if (annotations[PRUNE_ANNOTATION] === 'disabled')
            return { ref, action: 'skipped', error: `annotated ${PRUNE_ANNOTATION}: disabled` }
          if (PROTECTED_KINDS.has(ref.kind) && annotations[PRUNE_ANNOTATION] !== 'allow') {
            return {
              ref,
              action: 'skipped',
              error: `a ${ref.kind} is pruned only when annotated ${PRUNE_ANNOTATION}: allow`,
            }
          }
          if (options.dryRun) return { ref, action: 'deleted' }
          await client.delete(ref)
          return { ref, action: 'deleted' }
        } catch (error) {
          return {
            ref,
            action: 'failed',
            error:
              error instanceof KubeError
                ? error.message
                : `delete ${describeRef(ref)}: ${String(error)}`,
          }
        }
      }),
    ),
  )
}
