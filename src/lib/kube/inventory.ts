/**
 * A unit's inventory: what the agent last applied for it, kept in a ConfigMap in the agent's namespace
 * (named by a hash of the unit's path). It is the read-only sync state: what survives a restart, what
 * pruning compares with, and when the unit was last fully applied.
 */
import type { ObjectRef } from '../manifests/identity.js'
import type { KubeObject } from '../manifests/yaml.js'
import { KubeError, type KubeClient } from './client.js'
import { AGENT_LABEL, DOMAIN, UNIT_ANNOTATION, UNIT_LABEL, unitHash } from './labels.js'

export interface InventoryEntry extends ObjectRef {
  /** sha256 of the object as declared in git. */
  digest: string
}

export interface Inventory {
  unit: string
  commit: string
  /** Digest of the unit's whole content. */
  digest: string
  /** ISO time of the last full apply (drift correction counts from here). */
  lastApplied: string
  objects: InventoryEntry[]
  /** The ConfigMap's resourceVersion when read: writes check it. */
  resourceVersion?: string
}

export function inventoryName(unit: string): string {
  return `gitops-unit-${unitHash(unit)}`
}

function fromConfigMap(cm: KubeObject): Inventory {
  const data = (cm.data ?? {}) as Record<string, string>
  return {
    unit: data.unit,
    commit: data.commit ?? '',
    digest: data.digest ?? '',
    lastApplied: data.lastApplied ?? '',
    objects: JSON.parse(data.objects ?? '[]') as InventoryEntry[],
    resourceVersion: cm.metadata.resourceVersion as string | undefined,
  }
}

/** Every inventory of this agent, by unit path. */
export async function listInventories(
  client: KubeClient,
  namespace: string,
  agent: string,
): Promise<Map<string, Inventory>> {
  const items = await client.list('v1', 'ConfigMap', {
    namespace,
    labelSelector: `${AGENT_LABEL}=${agent},${DOMAIN}/inventory=true`,
  })
  const out = new Map<string, Inventory>()
  for (const cm of items) {
    const inv = fromConfigMap(cm)
    if (inv.unit) out.set(inv.unit, inv)
  }
  return out
}

/**
 * Writes an inventory: created when new, else replaced with the resourceVersion it was read at, so two
 * writers can never silently overwrite each other (the second gets a 409).
 */
export async function writeInventory(
  client: KubeClient,
  namespace: string,
  agent: string,
  inv: Inventory,
): Promise<Inventory> {
  const cm: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: inventoryName(inv.unit),
      namespace,
      labels: {
        [AGENT_LABEL]: agent,
        [`${DOMAIN}/inventory`]: 'true',
        [UNIT_LABEL]: unitHash(inv.unit),
      },
      annotations: { [UNIT_ANNOTATION]: inv.unit },
      ...(inv.resourceVersion ? { resourceVersion: inv.resourceVersion } : {}),
    },
    data: {
      unit: inv.unit,
      commit: inv.commit,
      digest: inv.digest,
      lastApplied: inv.lastApplied,
      objects: JSON.stringify(inv.objects),
    },
  }
  const written = inv.resourceVersion ? await client.replace(cm) : await createOrReplace(client, cm)
  return { ...inv, resourceVersion: written.metadata.resourceVersion as string | undefined }
}

async function createOrReplace(client: KubeClient, cm: KubeObject): Promise<KubeObject> {
  try {
    return await client.create(cm)
  } catch (error) {
    if (error instanceof KubeError && error.code === 409) {
      throw new KubeError(
        `inventory ${cm.metadata.name} was created by someone else meanwhile; it is read again next cycle`,
        409,
        'Conflict',
      )
    }
    throw error
  }
}
