import { jest } from '@jest/globals'
import type { Inventory } from '../../src/lib/kube/inventory.js'
import type { KubeObject } from '../../src/lib/manifests/yaml.js'
import { PruneHold } from '../../src/agent/steps/context.js'
import { planOwnership } from '../../src/agent/steps/ownership.js'
import { Retries } from '../../src/agent/steps/retries.js'
import type { Unit } from '../../src/agent/units.js'

const configMap = (name: string, data: Record<string, string> = {}, namespace?: string) =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    data,
  }) as KubeObject

const unit = (path: string, objects: KubeObject[], digest = `d-${path}`): Unit => ({
  path,
  objects: objects.map((object) => ({ source: `${path}/x.yaml`, object })),
  digest,
  retired: false,
})

const inventory = (unitPath: string, objects: Inventory['objects']): Inventory => ({
  unit: unitPath,
  commit: 'c',
  digest: 'd',
  lastApplied: '',
  objects,
})

describe('planOwnership', () => {
  it('has an object declared identically by two units applied by the first', () => {
    const units = [
      unit('a', [configMap('shared', {}, 'apps')]),
      unit('b', [configMap('shared', {}, 'apps')]),
    ]
    const plan = planOwnership(units, new Map(), 'default')
    expect(plan.appliedBy.get('ConfigMap/apps/shared')).toBe('a')
    expect(units.map((u) => u.error)).toEqual([undefined, undefined])
  })

  it('fails every unit declaring an object differently', () => {
    const units = [
      unit('a', [configMap('shared', { x: '1' }, 'apps')]),
      unit('b', [configMap('shared', { x: '2' }, 'apps')]),
      unit('c', [configMap('other', {}, 'apps')]),
    ]
    planOwnership(units, new Map(), 'default')
    expect(units[0].error).toBe('ConfigMap/apps/shared is declared differently by a and b')
    expect(units[1].error).toBe(units[0].error)
    expect(units[2].error).toBeUndefined()
  })

  it('makes the unit that still declares an object another dropped its heir', () => {
    const units = [unit('a', []), unit('b', [configMap('moved', {}, 'apps')])]
    const inventories = new Map([
      [
        'a',
        inventory('a', [
          { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'moved', digest: '' },
        ]),
      ],
    ])
    expect([...planOwnership(units, inventories, 'default').heirs]).toEqual(['b'])
    // Declared by the unit that had it: nobody inherits.
    const kept = [
      unit('a', [configMap('moved', {}, 'apps')]),
      unit('b', [configMap('moved', {}, 'apps')]),
    ]
    expect(planOwnership(kept, inventories, 'default').heirs.size).toBe(0)
  })

  it('declares objects as written in git: no namespace is the default one, a cluster-scoped one may name one', () => {
    const units = [
      unit('a', [configMap('loose'), { ...configMap('ns', {}, 'ignored'), kind: 'Namespace' }]),
    ]
    const { declares } = planOwnership(units, new Map(), 'default')
    expect(
      declares({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'loose' }),
    ).toBe(true)
    expect(
      declares({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'loose' }),
    ).toBe(false)
    expect(declares({ apiVersion: 'v1', kind: 'Namespace', name: 'ns' })).toBe(true)
    expect(declares({ apiVersion: 'v1', kind: 'Namespace', name: 'other' })).toBe(false)
  })
})

describe('Retries', () => {
  afterEach(() => jest.restoreAllMocks())

  it('waits from the poll interval, doubling up to the sync interval, for the same content only', () => {
    let now = 1_000_000
    jest.spyOn(Date, 'now').mockImplementation(() => now)
    const retries = new Retries(1000, 5000)
    const u = unit('a', [])
    const waits = [1, 2, 3, 4].map(() => {
      retries.failed(u)
      return retries.waitingUntil(u, now)! - now
    })
    expect(waits).toEqual([1000, 2000, 4000, 5000])
    // New content is tried at once, and its failures count from one again.
    const changed = { ...u, digest: 'new' }
    expect(retries.waitingUntil(changed, now)).toBeUndefined()
    retries.failed(changed)
    expect(retries.waitingUntil(changed, now)).toBe(now + 1000)
    // Once the wait is over, or after a success, nothing waits.
    expect(retries.waitingUntil(changed, now + 1000)).toBeUndefined()
    retries.succeeded(changed)
    now += 1
    expect(retries.waitingUntil(changed, now)).toBeUndefined()
  })
})

describe('PruneHold', () => {
  it('holds pruning for a unit that failed to load, or a lease lost, until the next cycle', () => {
    const hold = new PruneHold()
    hold.startCycle()
    hold.loaded({ path: 'a' })
    expect(hold.reason).toBe('unit a failed to load')
    hold.loseLease('another agent holds the lease')
    expect([hold.lost, hold.reason]).toEqual([true, 'another agent holds the lease'])
    hold.startCycle()
    hold.loaded(undefined)
    expect([hold.lost, hold.reason]).toEqual([false, undefined])
  })
})
