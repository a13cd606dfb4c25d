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

describe('validateManifests: names as Kubernetes takes them', () => {
  const message = (value: Record<string, unknown>): string => {
    try {
      validateManifests(docs(value))
    } catch (error) {
      return (error as Error).message
    }
    return ''
  }
  const cm = (extra: Record<string, unknown>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a' },
    ...extra,
  })

  test.each([
    [
      'a kind that is a path',
      { kind: '../../Evil' },
      /f0\.yaml: .*invalid kind "\.\.\/\.\.\/Evil"/,
    ],
    ['a kind with a dot', { kind: 'Config.Map' }, /invalid kind/],
    ['a kind starting with a digit', { kind: '1Map' }, /invalid kind/],
    ['a kind of 64 characters', { kind: `K${'a'.repeat(63)}` }, /invalid kind/],
    ['a kind ending in a hyphen', { kind: 'Map-' }, /invalid kind/],
    [
      'an apiVersion with a path',
      { apiVersion: '../v1' },
      /f0\.yaml: ConfigMap\/a has an invalid apiVersion/,
    ],
    ['a core apiVersion other than v1', { apiVersion: 'v2' }, /invalid apiVersion/],
    ['an apiVersion with an upper-case group', { apiVersion: 'Apps/v1' }, /invalid apiVersion/],
    ['an apiVersion with three parts', { apiVersion: 'a/b/v1' }, /invalid apiVersion/],
    [
      'the name ..',
      { metadata: { name: '..' } },
      /f0\.yaml: ConfigMap has an invalid metadata\.name/,
    ],
    ['the name .', { metadata: { name: '.' } }, /invalid metadata\.name/],
    ['a name with a slash', { metadata: { name: 'a/b' } }, /invalid metadata\.name/],
    ['a name with a backslash', { metadata: { name: 'a\\b' } }, /invalid metadata\.name/],
    ['a name with a percent sign', { metadata: { name: 'a%2fb' } }, /invalid metadata\.name/],
    ['a name with a newline', { metadata: { name: 'a\nb' } }, /invalid metadata\.name/],
    ['a name of 254 characters', { metadata: { name: 'a'.repeat(254) } }, /invalid metadata\.name/],
    [
      'a namespace with a dot',
      { metadata: { name: 'a', namespace: 'a.b' } },
      /ConfigMap\/a has an invalid metadata\.namespace/,
    ],
    [
      'a namespace in upper case',
      { metadata: { name: 'a', namespace: 'Prod' } },
      /invalid metadata\.namespace/,
    ],
    [
      'a namespace of 64 characters',
      { metadata: { name: 'a', namespace: 'a'.repeat(64) } },
      /invalid metadata\.namespace/,
    ],
  ])('refuses %s', (_name, extra, expected) => {
    expect(message(cm(extra))).toMatch(expected)
  })

  test.each([
    [
      'an RBAC name with colons',
      {
        kind: 'ClusterRole',
        apiVersion: 'rbac.authorization.k8s.io/v1',
        metadata: { name: 'system:controller:x' },
      },
    ],
    ['a name with @ and _', { metadata: { name: 'user@example.com_x' } }],
    [
      'a CRD group',
      {
        kind: 'Certificate',
        apiVersion: 'cert-manager.io/v1',
        metadata: { name: 'a', namespace: 'prod-1' },
      },
    ],
    ['a name of 253 characters', { metadata: { name: 'a'.repeat(253) } }],
    ['a beta version', { apiVersion: 'batch/v1beta1', kind: 'CronJob' }],
    ['a custom kind with a hyphen', { apiVersion: 'example.com/v1', kind: 'My-Kind' }],
  ])('accepts %s', (_name, extra) => {
    expect(message(cm(extra))).toBe('')
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
