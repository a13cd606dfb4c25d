/** The labels and annotations the agent puts on what it applies, and reads back before pruning. */
import { createHash } from 'node:crypto'

export const DOMAIN = 'gitops-actions.dev'
/** Which agent applied the object (its namespace). */
export const AGENT_LABEL = `${DOMAIN}/agent`
/** Which unit declared the object: a hash of the unit's path (label values cannot hold `/`). */
export const UNIT_LABEL = `${DOMAIN}/unit`
/** The unit's path itself, for people. */
export const UNIT_ANNOTATION = `${DOMAIN}/unit-path`
/** `disabled`: never prune this object. `allow`: a Namespace, CRD or PVC that may be pruned. */
export const PRUNE_ANNOTATION = `${DOMAIN}/prune`
export const FIELD_MANAGER = 'gitops-agent'

/** A short, stable hash of a unit path: `staging/my-app` and `staging-my/app` never collide. */
export function unitHash(unitPath: string): string {
  return createHash('sha256').update(unitPath).digest('hex').slice(0, 16)
}

/** Kinds never pruned unless annotated `prune: allow`: losing them loses data or other apps. */
export const PROTECTED_KINDS = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'PersistentVolumeClaim',
  'PersistentVolume',
])

/** The field manager of install-agent's server-side applies (the agent's own is `FIELD_MANAGER`). */
export const INSTALL_FIELD_MANAGER = 'gitops-install'
/**
 * On every object install-agent applies, valued with the install's namespace: a later install finds by
 * it what an earlier one made (and prunes what the base no longer has), never anything else.
 */
export const INSTALL_LABEL = `${DOMAIN}/install`
/** The conventional label naming the tool that manages an object, for people and other tools. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'

/** The labels install-agent puts on what it applies into `namespace`. */
export function installLabels(namespace: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: INSTALL_FIELD_MANAGER, [INSTALL_LABEL]: namespace }
}
