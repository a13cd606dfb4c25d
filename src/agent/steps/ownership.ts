/**
 * Who applies what: an object declared by several units is applied once, by the first that declares it
 * (identically; declared differently, it fails every unit declaring it), and an object a unit dropped
 * while another still declares it is that unit's now.
 */
import type { Inventory } from '../../lib/kube/inventory.js'
import { objectKey, refKey, type ObjectRef } from '../../lib/manifests/identity.js'
import { canonicalJson } from '../../lib/manifests/objects.js'
import type { KubeObject } from '../../lib/manifests/yaml.js'
import type { Unit } from '../units.js'

export interface Ownership {
  /** The unit that applies each declared object (by `objectKey`): the first that declares it. */
  appliedBy: Map<string, string>
  /**
   * Units that inherit an object another unit dropped: they apply (and label) it in this cycle, even
   * if their own content did not change.
   */
  heirs: Set<string>
  /**
   * Some unit declares the object now, as written in git: a namespaced object may name no namespace
   * (it gets `defaultNamespace`), a cluster-scoped one may name one.
   */
  declares: (ref: ObjectRef) => boolean
}

/**
 * Plans who owns what. Units that declare an object differently are marked failed (`error`): the
 * units are the cycle's own copies.
 */
export function planOwnership(
  units: Unit[],
  inventories: Map<string, Inventory>,
  defaultNamespace: string,
): Ownership {
  const owners = new Map<string, { unit: Unit; object: KubeObject }[]>()
  for (const unit of units.filter((u) => !u.error)) {
    for (const { object } of unit.objects) {
      const key = objectKey(object)
      const list = owners.get(key)
      if (list) list.push({ unit, object })
      else owners.set(key, [{ unit, object }])
    }
  }
  for (const [key, list] of owners) {
    if (list.length > 1 && new Set(list.map((o) => canonicalJson(o.object))).size > 1) {
      for (const { unit } of list) {
        unit.error ??= `${key.replace(/\/\//, '/')} is declared differently by ${list.map((o) => o.unit.path).join(' and ')}`
      }
    }
  }
  // Identical declarations are applied once, by the first unit that has them.
  const appliedBy = new Map<string, string>()
  for (const [key, list] of owners) appliedBy.set(key, list[0].unit.path)

  const heirs = new Set<string>()
  for (const unit of units) {
    const declaredHere = new Set(unit.objects.map((m) => objectKey(m.object)))
    for (const e of inventories.get(unit.path)?.objects ?? []) {
      const keys = [refKey(e), `${e.kind}//${e.name}`]
      const heir = keys.map((k) => appliedBy.get(k)).find((u) => u !== undefined && u !== unit.path)
      if (heir && !keys.some((k) => declaredHere.has(k))) heirs.add(heir)
    }
  }

  /** `Kind/name` of every object declared now, whatever its namespace. */
  const kindAndName = new Set([...owners.keys()].map((k) => k.replace(/\/[^/]*\//, '/')))
  const declares = (e: ObjectRef): boolean =>
    owners.has(refKey(e)) ||
    (e.namespace === defaultNamespace && owners.has(`${e.kind}//${e.name}`)) ||
    (e.namespace === undefined && kindAndName.has(`${e.kind}/${e.name}`))
  return { appliedBy, heirs, declares }
}
