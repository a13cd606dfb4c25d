import { createHash } from 'node:crypto'
import { fileNamesFor } from '../../src/lib/manifests/folder.js'
import { manifestsDigest, sortObjects, validateManifests } from '../../src/lib/manifests/objects.js'
import type { KubeObject, LoadedDocument } from '../../src/lib/manifests/yaml.js'

const obj = (kind: string, name: string, namespace?: string, extra: object = {}): KubeObject => ({
  apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  ...extra,
})
const docs = (...objects: Record<string, unknown>[]): LoadedDocument[] =>
  objects.map((value, i) => ({ source: `f${i}.yaml`, value }))

describe('validateManifests', () => {
  test('accepts well-formed objects', () => {
    expect(validateManifests(docs(obj('ConfigMap', 'a'), obj('Service', 'a')))).toHaveLength(2)
  })

  test('names every missing field and the file', () => {
    expect(() => validateManifests(docs({ kind: 'ConfigMap', metadata: {} }))).toThrow(
      'f0.yaml: not a Kubernetes object: missing apiVersion, metadata.name',
    )
  })

  test('refuses duplicates, naming both places', () => {
    expect(() =>
      validateManifests(docs(obj('ConfigMap', 'a', 'x'), obj('ConfigMap', 'a', 'x'))),
    ).toThrow('f1.yaml: duplicate ConfigMap/x/a (also in f0.yaml)')
  })

  test('the same name in two namespaces is no duplicate', () => {
    expect(
      validateManifests(docs(obj('ConfigMap', 'a', 'x'), obj('ConfigMap', 'a', 'y'))),
    ).toHaveLength(2)
  })

  test('refuses a plaintext Secret without printing its data', () => {
    const secret = obj('Secret', 'db', 'prod', { data: { password: 'c2VjcmV0LXZhbHVl' } })
    let message = ''
    try {
      validateManifests(docs(secret))
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toContain('Secret/prod/db is a plaintext Secret')
    expect(message).toContain('allow-secrets')
    expect(message).not.toContain('c2VjcmV0LXZhbHVl')
    expect(validateManifests(docs(secret), { allowSecrets: true })).toHaveLength(1)
  })

  test('a SealedSecret is not a plaintext Secret', () => {
    const sealed = {
      apiVersion: 'bitnami.com/v1alpha1',
      kind: 'SealedSecret',
      metadata: { name: 's' },
    }
    expect(validateManifests(docs(sealed))).toHaveLength(1)
  })

  test('collects all problems at once', () => {
    expect(() => validateManifests(docs({ a: 1 }, { b: 2 }))).toThrow(/^2 invalid manifests/)
  })
})

describe('digest', () => {
  test('does not depend on key order or object order', () => {
    const a = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', labels: { x: '1', y: '2' } },
    }
    const b = {
      metadata: { labels: { y: '2', x: '1' }, name: 'a' },
      kind: 'ConfigMap',
      apiVersion: 'v1',
    }
    const s = obj('Service', 's')
    expect(manifestsDigest([a, s])).toBe(manifestsDigest([s, b]))
  })

  test('changes with any value', () => {
    expect(manifestsDigest([obj('ConfigMap', 'a', undefined, { data: { k: 'v' } })])).not.toBe(
      manifestsDigest([obj('ConfigMap', 'a', undefined, { data: { k: 'w' } })]),
    )
  })

  test('is a known value for a known object (the same on every machine)', () => {
    // sha256 of '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}\n'
    expect(manifestsDigest([obj('ConfigMap', 'a')])).toBe(
      'sha256:' +
        createHash('sha256')
          .update('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}\n')
          .digest('hex'),
    )
  })
})

describe('order and file names', () => {
  test('Namespaces and CRDs first, custom resources last', () => {
    const sorted = sortObjects(
      [
        obj('Deployment', 'd'),
        { apiVersion: 'x/v1', kind: 'Widget', metadata: { name: 'w' } },
        obj('Namespace', 'n'),
        obj('Service', 's'),
        {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'widgets.x' },
        },
      ].map((object) => ({ object: object })),
    )
    expect(sorted.map((s) => s.object.kind)).toEqual([
      'CustomResourceDefinition',
      'Namespace',
      'Service',
      'Deployment',
      'Widget',
    ])
  })

  test('kind-name.yaml, with the namespace only where names collide', () => {
    expect(
      fileNamesFor([
        obj('Deployment', 'Web'),
        obj('ConfigMap', 'a', 'x'),
        obj('ConfigMap', 'a', 'y'),
        obj('ClusterRole', 'system:x'),
      ]),
    ).toEqual([
      'deployment-web.yaml',
      'configmap-x-a.yaml',
      'configmap-y-a.yaml',
      'clusterrole-system_x.yaml',
    ])
  })
})
