/**
 * Applying and pruning, after Flux's `ssa` package: apply in stages (CRDs and Namespaces, then other
 * cluster-scoped objects, then the rest) with bounded concurrency, one change-set entry per object; prune
 * by inventory, only what still carries the unit's label and is not protected.
 */
import { sleep, type Limiter } from '../concurrency.js'
import { describeRef, refOf, type ObjectRef } from '../manifests/identity.js'
import { canonicalJson } from '../manifests/objects.js'
import type { KubeObject } from '../manifests/yaml.js'
import { KubeError, type KubeClient } from './client.js'
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

/** `group/Kind` of an object's type (`/Kind` for the core group). */
export function groupKind(apiVersion: string, kind: string): string {
  return `${apiVersion.includes('/') ? apiVersion.split('/')[0] : ''}/${kind}`
}

/**
 * Whether each kind the given CRDs define is namespaced, from the CRDs themselves: a kind whose CRD is
 * applied in the same sync is not served yet, so discovery cannot tell.
 */
export function crdScopes(objects: KubeObject[]): Map<string, boolean> {
  const scopes = new Map<string, boolean>()
  for (const o of objects) {
    if (o.kind !== 'CustomResourceDefinition') continue
    const spec = o.spec as { group?: string; scope?: string; names?: { kind?: string } } | undefined
    if (spec?.group && spec.names?.kind)
      scopes.set(`${spec.group}/${spec.names.kind}`, spec.scope !== 'Cluster')
  }
  return scopes
}

/** How long a CRD may take to be Established (names accepted, its kind served). */
const ESTABLISH_TIMEOUT_MS = 60_000

/** Waits until every CRD is Established; the problems of those that are not, by the timeout. */
async function waitEstablished(
  client: KubeClient,
  crds: KubeObject[],
  timeoutMs = ESTABLISH_TIMEOUT_MS,
): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs
  const pending = new Map(crds.map((c) => [c.metadata.name, 'not Established yet']))
  for (;;) {
    for (const crd of crds.filter((c) => pending.has(c.metadata.name))) {
      const live = await client.get(refOf(crd))
      const conditions =
        (live?.status as { conditions?: { type: string; status: string; message?: string }[] })
          ?.conditions ?? []
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True'))
        pending.delete(crd.metadata.name)
      else {
        const problem = conditions.find((c) => c.status === 'False' && c.message)
        if (problem) pending.set(crd.metadata.name, `${problem.type}: ${problem.message}`)
      }
    }
    if (pending.size === 0 || Date.now() >= deadline) return pending
    await sleep(200)
  }
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
export function comparable(object: KubeObject): string {
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
  options: {
    limiter: Limiter
    dryRun: boolean
    /** Kinds defined by CRDs of this sync (`group/Kind`): served only once their CRD is Established. */
    newKinds?: Map<string, boolean>
  },
): Promise<ChangeEntry[]> {
  const entries: ChangeEntry[] = []
  const isNew = (o: KubeObject) => options.newKinds?.has(groupKind(o.apiVersion, o.kind)) === true
  // Once a request gets no answer in time, the rest are not sent: a stuck server would otherwise hold
  // the unit for one timeout per object in turn.
  let unanswered: string | undefined
  for (const stage of objectStages) {
    const results = await Promise.all(
      stage.map((object) =>
        options.limiter.run(async (): Promise<ChangeEntry> => {
          const ref = refOf(object)
          if (unanswered)
            return {
              ref,
              action: 'failed',
              error: `not sent: an earlier request of the unit got no answer (${unanswered})`,
            }
          try {
            if (!options.dryRun) {
              await applyOnce(client, object, isNew(object))
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
            if (error instanceof KubeError && error.reason === 'Timeout')
              unanswered ??= error.message
            // A dry run cannot apply objects of a kind whose CRD it would create: they would be created.
            if (options.dryRun && isNew(object) && isUnserved(error))
              return { ref, action: 'created' }
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
    // Custom resources need their CRD Established first.
    const crds = stage.filter((o) => o.kind === 'CustomResourceDefinition')
    if (!options.dryRun && crds.length > 0) {
      const pending = await waitEstablished(client, crds).catch(
        (error: unknown) =>
          new Map(crds.map((c) => [c.metadata.name, `cannot read it: ${String(error)}`])),
      )
      if (pending.size > 0) {
        for (const entry of results.filter((r) => pending.has(r.ref.name))) {
          entry.action = 'failed'
          entry.error = `CustomResourceDefinition/${entry.ref.name} is not Established after ${ESTABLISH_TIMEOUT_MS / 1000} s: ${pending.get(entry.ref.name)}`
        }
        break
      }
    }
  }
  return entries
}

/** The kind is not served (yet): discovery found nothing. */
function isUnserved(error: unknown): boolean {
  return error instanceof KubeError && error.code === 404 && error.message.startsWith('discover ')
}

/**
 * Server-side apply. An object of a kind whose CRD was just Established is tried again for a few seconds
 * while the server's discovery catches up.
 */
async function applyOnce(client: KubeClient, object: KubeObject, newKind: boolean): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.applyOnly(object, { fieldManager: FIELD_MANAGER, force: true })
      return
    } catch (error) {
      if (!newKind || !isUnserved(error) || attempt >= 20) throw error
      await sleep(250)
    }
  }
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
  options: {
    dryRun: boolean
    limiter: Limiter
    /** Why an object is never pruned, whatever its annotations say; undefined when it may be. */
    protect?: (ref: ObjectRef) => string | undefined
  },
): Promise<ChangeEntry[]> {
  return Promise.all(
    candidates.map((ref) =>
      options.limiter.run(async (): Promise<ChangeEntry> => {
        const protectedBy = options.protect?.(ref)
        if (protectedBy) return { ref, action: 'skipped', error: protectedBy }
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
          // Bound to the object just checked: one created again since then is not ours to delete.
          await client.delete(ref, live.metadata.uid as string | undefined)
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
