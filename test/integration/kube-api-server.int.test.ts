/**
 * The in-process test API server (test/support/kube-api), checked with the real kubectl and with raw
 * HTTP: what passes here is what the agent's tests can rely on.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:http2'
import { connect as tlsConnect } from 'node:tls'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { runKubectl } from '../support/kubectl.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

/** Polls `probe` until it returns something truthy. */
async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const NAMESPACE = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
`

function configMap(greeting: string, extra = ''): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
  labels: {app: web}
data:
  greeting: ${greeting}
  mode: "0644"
${extra}`
}

function deployment(replicas: number, image = 'nginx:1.27'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ${image}
          ports:
            - containerPort: 80
          env:
            - name: MODE
              value: production
`
}

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.org
spec:
  group: example.org
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
    - name: v1beta1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

const CUSTOM_RESOURCES = `apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: shop}
spec: {size: 3}
---
apiVersion: example.org/v1beta1
kind: Gadget
metadata: {name: g1}
spec: {color: blue}
`

const WEB = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' }
const WEB_CONFIG = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'web-config' }

describe('test API server, driven by the real kubectl', () => {
  let server: KubeApiServer
  let cache: string
  let dir: string
  const kc = (...args: string[]) => runKubectl(server.kubeconfigPath, cache, args)
  const file = (name: string, text: string): string => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }

  beforeAll(async () => {
    server = await startKubeApiServer()
    dir = tempDir('kube-api-test-')
    cache = join(dir, 'cache')
  })
  afterAll(() => server.stop())

  test('serves HTTPS with a CA in the kubeconfig', () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const config = parseYaml(readFileSync(server.kubeconfigPath, 'utf8'))
    const cluster = config.clusters[0].cluster
    expect(cluster.server).toBe(server.url)
    expect(Buffer.from(String(cluster['certificate-authority-data']), 'base64').toString()).toBe(
      server.ca,
    )
    expect(cluster['insecure-skip-tls-verify']).toBeUndefined()
  })

  test('apply --server-side creates a Namespace, a ConfigMap and a Deployment', async () => {
    const app = file('app.yaml', [NAMESPACE, configMap('hello'), deployment(2)].join('---\n'))
    server.requests.reset()
    const r = await kc('apply', '--server-side', '--validate=false', '-f', app)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'namespace/shop serverside-applied',
      'configmap/web-config serverside-applied',
      'deployment.apps/web serverside-applied',
    ])
    // One apply PATCH per object, created (201).
    const patches = server.requests.all().filter((q) => q.method === 'PATCH')
    expect(patches.map((q) => [q.path, q.contentType, q.status])).toEqual([
      ['/api/v1/namespaces/shop', 'application/apply-patch+yaml', 201],
      ['/api/v1/namespaces/shop/configmaps/web-config', 'application/apply-patch+yaml', 201],
      ['/apis/apps/v1/namespaces/shop/deployments/web', 'application/apply-patch+yaml', 201],
    ])
    expect(patches[0].query).toContain('fieldManager=kubectl')
    // kubectl picked HTTP/2 by ALPN, as with kube-apiserver.
    expect(patches.map((q) => q.httpVersion)).toEqual(['2.0', '2.0', '2.0'])
    // YAML 1.1 as kubectl reads it: the quoted "0644" stays a string.
    expect(server.objects.get(WEB_CONFIG)?.data).toEqual({ greeting: 'hello', mode: '0644' })
  })

  test('re-applying the same file changes nothing (no new resourceVersion)', async () => {
    await waitFor('the rollout status', () => !server.controllerBusy)
    const before = [WEB, WEB_CONFIG].map(
      (ref) => server.objects.get(ref)?.metadata?.resourceVersion,
    )
    const app = join(dir, 'app.yaml')
    const r = await kc('apply', '--server-side', '--validate=false', '-f', app)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('deployment.apps/web serverside-applied')
    const after = [WEB, WEB_CONFIG].map((ref) => server.objects.get(ref)?.metadata?.resourceVersion)
    expect(after).toEqual(before)
  })

  test('get -o json shows managedFields for manager kubectl; get by short name prints a table', async () => {
    const r = await kc('get', 'deploy', 'web', '-n', 'shop', '-o', 'json', '--show-managed-fields')
    expect(r.code).toBe(0)
    const live = JSON.parse(r.stdout)
    expect(live.spec.replicas).toBe(2)
    expect(live.metadata.generation).toBe(1)
    expect(live.metadata.uid).toMatch(/^[0-9a-f-]{36}$/)
    const applied = (live.metadata.managedFields as any[]).find((m: any) => m.manager === 'kubectl')
    expect(applied).toMatchObject({
      operation: 'Apply',
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
    })
    expect(applied.fieldsV1['f:spec']['f:replicas']).toEqual({})
    const container = applied.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']
    expect(container['k:{"name":"web"}']['.']).toEqual({})
    expect(container['k:{"name":"web"}']['f:env']['k:{"name":"MODE"}']['f:value']).toEqual({})
    // The controller's status write is owned by it, on the status subresource.
    expect(live.metadata.managedFields).toContainEqual(
      expect.objectContaining({
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
      }),
    )

    const cm = await kc('get', 'cm', '-n', 'shop')
    expect(cm.code).toBe(0)
    expect(cm.stdout).toMatch(/^NAME\s+DATA\s+AGE\n/)
    expect(cm.stdout).toMatch(/\nweb-config\s+2\s+\d+s\n/)
    const table = server.requests.all().at(-1)
    expect(table?.accept).toContain('as=Table')

    const deploy = await kc('get', 'deployments', '-A')
    expect(deploy.stdout).toMatch(/\nshop\s+web\s+2\/2\s+2\s+2\s+/)
  })

  test('rollout status succeeds once the controller reports the rollout (list + watch)', async () => {
    const r = await kc('rollout', 'status', 'deploy/web', '-n', 'shop', '--timeout=10s')
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain('deployment "web" successfully rolled out')
    expect(server.objects.get(WEB)?.status).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    })
  })

  test('diff --server-side shows the change, exits 1 and stores nothing', async () => {
    const changed = file('changed.yaml', [configMap('bye'), deployment(3)].join('---\n'))
    const rv = server.objects.resourceVersion()
    const r = await kc('diff', '--server-side', '-f', changed)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^- {2}replicas: 2$/m)
    expect(r.stdout).toMatch(/^\+ {2}replicas: 3$/m)
    expect(r.stdout).toMatch(/^- {2}greeting: hello$/m)
    expect(r.stdout).toMatch(/^\+ {2}greeting: bye$/m)
    expect(server.requests.count('PATCH', /\/deployments\/web\?.*dryRun=All/)).toBe(1)
    expect(server.objects.resourceVersion()).toBe(rv)
    expect(server.objects.get(WEB)?.spec.replicas).toBe(2)
  })

  test('another field manager conflicts on a field kubectl owns; --force-conflicts takes it over', async () => {
    const scaled = file('scaled.yaml', deployment(5))
    const refused = await kc(
      'apply',
      '--server-side',
      '--field-manager=ci-bot',
      '--validate=false',
      '-f',
      scaled,
    )
    expect(refused.code).not.toBe(0)
    // kubectl is an Apply manager: the real server names it alone (only an Update manager is named
    // with the apiVersion it wrote, `conflict with "kubectl-edit" using apps/v1`).
    expect(refused.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas',
    )
    expect(server.objects.get(WEB)?.spec.replicas).toBe(2)

    const forced = await kc(
      'apply',
      '--server-side',
      '--field-manager=ci-bot',
      '--force-conflicts',
      '--validate=false',
      '-f',
      scaled,
    )
    expect(forced.code).toBe(0)
    const live = server.objects.get(WEB)!
    expect(live.spec.replicas).toBe(5)
    expect(live.metadata?.generation).toBe(2)
    const owners = (name: string) => live.metadata?.managedFields?.find((m) => m.manager === name)
    expect(owners('ci-bot')?.fieldsV1['f:spec']['f:replicas']).toEqual({})
    expect(owners('kubectl')?.fieldsV1['f:spec']['f:replicas']).toBeUndefined()
    // Fields both apply with the same value are shared, not conflicts.
    expect(owners('kubectl')?.fieldsV1['f:spec']['f:selector']).toBeDefined()
    expect(owners('ci-bot')?.fieldsV1['f:spec']['f:selector']).toBeDefined()

    // Now kubectl's old value conflicts with ci-bot's ownership.
    const back = await kc('apply', '--server-side', '--validate=false', '-f', join(dir, 'app.yaml'))
    expect(back.code).not.toBe(0)
    expect(back.stderr).toContain('conflict with "ci-bot"')
  })

  test('a field dropped from the applied configuration is removed', async () => {
    const withExtra = file('extra.yaml', configMap('hello', '  extra: "yes"\n'))
    expect((await kc('apply', '--server-side', '--validate=false', '-f', withExtra)).code).toBe(0)
    expect(server.objects.get(WEB_CONFIG)?.data.extra).toBe('yes')
    const without = file('without.yaml', configMap('hello'))
    expect((await kc('apply', '--server-side', '--validate=false', '-f', without)).code).toBe(0)
    expect(server.objects.get(WEB_CONFIG)?.data).toEqual({ greeting: 'hello', mode: '0644' })
  })

  test('scale, set image and rollout restart (merge and strategic merge patches) roll out again', async () => {
    expect((await kc('scale', 'deploy/web', '-n', 'shop', '--replicas=4')).code).toBe(0)
    expect((await kc('set', 'image', 'deploy/web', '-n', 'shop', 'web=nginx:1.28')).code).toBe(0)
    expect((await kc('rollout', 'restart', 'deploy/web', '-n', 'shop')).code).toBe(0)
    const r = await kc('rollout', 'status', 'deploy/web', '-n', 'shop', '--timeout=10s')
    expect(r.stdout).toContain('successfully rolled out')
    const live = server.objects.get(WEB)!
    expect(live.spec.replicas).toBe(4)
    const [container] = live.spec.template.spec.containers
    // The strategic merge patch changed the image and kept the rest of the container.
    expect(container).toMatchObject({
      name: 'web',
      image: 'nginx:1.28',
      ports: [{ containerPort: 80 }],
    })
    expect(
      live.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'],
    ).toBeDefined()
    expect(live.status.observedGeneration).toBe(live.metadata?.generation)
    expect(live.status.availableReplicas).toBe(4)
  })

  test('a CRD makes its kind servable, with its scope', async () => {
    const crds = file('crds.yaml', CRD)
    expect((await kc('apply', '--server-side', '--validate=false', '-f', crds)).code).toBe(0)
    const established = await kc(
      'wait',
      '--for=condition=Established',
      'crd/widgets.example.com',
      '--timeout=5s',
    )
    expect(established.stdout).toContain('condition met')
    const r = await kc(
      'apply',
      '--server-side',
      '--validate=false',
      '-f',
      file('crs.yaml', CUSTOM_RESOURCES),
    )
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain('widget.example.com/w1 serverside-applied')
    expect(r.stdout).toContain('gadget.example.org/g1 serverside-applied')

    const widgets = await kc('get', 'wd', '-n', 'shop', '-o', 'name')
    expect(widgets.stdout.trim()).toBe('widget.example.com/w1')
    const gadget = await kc('get', 'gadgets', 'g1', '-o', 'json')
    expect(JSON.parse(gadget.stdout)).toMatchObject({
      apiVersion: 'example.org/v1beta1',
      spec: { color: 'blue' },
      metadata: { name: 'g1', generation: 1 },
    })
    expect(JSON.parse(gadget.stdout).metadata.namespace).toBeUndefined()

    const groups = await server.request('GET', '/apis')
    expect((groups.body.groups as any[]).map((g: any) => g.name)).toEqual(
      expect.arrayContaining(['example.com', 'example.org', 'apps']),
    )
    const resources = await server.request('GET', '/apis/example.com/v1')
    expect(resources.body.resources[0]).toMatchObject({
      name: 'widgets',
      singularName: 'widget',
      namespaced: true,
      kind: 'Widget',
      shortNames: ['wd'],
    })
  })

  test('a ConfigMap in a missing namespace fails with not found', async () => {
    const stray = file(
      'stray.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nowhere}\n',
    )
    const r = await kc('apply', '--server-side', '--validate=false', '-f', stray)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('namespaces "nowhere" not found')
  })

  test('kubectl create (protobuf bodies) works for namespaces, configmaps and secrets', async () => {
    expect((await kc('create', 'namespace', 'made')).stdout).toContain('namespace/made created')
    expect((await kc('create', 'configmap', 'c', '-n', 'made', '--from-literal=a=1')).code).toBe(0)
    expect(
      (await kc('create', 'secret', 'generic', 's', '-n', 'made', '--from-literal=pw=x')).code,
    ).toBe(0)
    const cm = server.objects.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'made',
      name: 'c',
    })
    expect(cm?.data).toEqual({ a: '1' })
    const secret = server.objects.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'made',
      name: 's',
    })
    expect(secret).toMatchObject({
      type: 'Opaque',
      data: { pw: Buffer.from('x').toString('base64') },
    })
    expect(secret?.metadata?.managedFields?.[0].manager).toBe('kubectl-create')
  })

  test('delete removes an object and a later get is NotFound', async () => {
    const r = await kc('delete', 'cm', 'web-config', '-n', 'shop')
    expect(r.stdout).toContain('configmap "web-config" deleted')
    const get = await kc('get', 'cm', 'web-config', '-n', 'shop')
    expect(get.code).toBe(1)
    expect(get.stderr).toContain('Error from server (NotFound): configmaps "web-config" not found')
  })

  test('deleting a namespace terminates it, then it and its content are gone', async () => {
    const r = await kc('delete', 'namespace', 'shop', '--timeout=10s')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('namespace "shop" deleted')
    expect(
      server.objects.get({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' }),
    ).toBeUndefined()
    expect(server.objects.list('apps/v1', 'Deployment', 'shop')).toEqual([])
    expect(server.objects.list('example.com/v1', 'Widget', 'shop')).toEqual([])
    // The cluster-scoped custom resource is not in a namespace, so it stays.
    expect(server.objects.list('example.org/v1beta1', 'Gadget')).toHaveLength(1)
  })
})

describe('workload controller', () => {
  let server: KubeApiServer
  let cache: string
  const kc = (...args: string[]) => runKubectl(server.kubeconfigPath, cache, args)

  beforeAll(async () => {
    server = await startKubeApiServer({ progressDeadlineMs: 300 })
    cache = join(tempDir('kube-api-ctl-'), 'cache')
    server.objects.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } })
  })
  afterAll(() => server.stop())

  const pod = (image: string) => ({
    selector: { matchLabels: { app: 'x' } },
    template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image }] } },
  })

  test('a Deployment whose image carries the failing marker stays unavailable and misses its deadline', async () => {
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'apps', name: 'broken' }
    server.objects.apply({
      ...ref,
      metadata: { name: 'broken', namespace: 'apps' },
      spec: { replicas: 2, ...pod('registry.example.com/app:fail-1') },
    })
    const status = await waitFor('the deadline', () => {
      const s = server.objects.get(ref)?.status
      return (
        ((s?.conditions ?? []) as any[]).some(
          (c: any) => c.reason === 'ProgressDeadlineExceeded',
        ) && s
      )
    })
    expect(status).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      availableReplicas: 0,
      readyReplicas: 0,
    })
    expect(status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Available', status: 'False' }),
    )
    expect(status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
      }),
    )
    const r = await kc('rollout', 'status', 'deploy/broken', '-n', 'apps', '--timeout=5s')
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('exceeded its progress deadline')
  })

  test('StatefulSets, DaemonSets and Jobs report done; rollout status and wait agree', async () => {
    const meta = (name: string) => ({ name, namespace: 'apps' })
    server.objects.apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('db'),
      spec: { replicas: 3, serviceName: 'db', ...pod('postgres:16') },
    })
    server.objects.apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta('agent'),
      spec: pod('agent:1'),
    })
    server.objects.apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('migrate'),
      spec: {
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'm', image: 'migrate:1' }] },
        },
      },
    })
    server.objects.apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('doomed'),
      spec: {
        backoffLimit: 1,
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'm', image: 'fail:1' }] },
        },
      },
    })

    expect(
      (await kc('rollout', 'status', 'sts/db', '-n', 'apps', '--timeout=10s')).stdout,
    ).toContain('roll out complete')
    expect(
      (await kc('rollout', 'status', 'ds/agent', '-n', 'apps', '--timeout=10s')).stdout,
    ).toContain('successfully rolled out')
    expect(
      (await kc('wait', '--for=condition=Complete', 'job/migrate', '-n', 'apps', '--timeout=10s'))
        .stdout,
    ).toContain('condition met')
    expect(
      (await kc('wait', '--for=condition=Failed', 'job/doomed', '-n', 'apps', '--timeout=10s'))
        .stdout,
    ).toContain('condition met')

    const sts = server.objects.get({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      namespace: 'apps',
      name: 'db',
    })
    expect(sts?.status).toMatchObject({
      readyReplicas: 3,
      currentRevision: sts?.status.updateRevision,
    })
    const ds = server.objects.get({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      namespace: 'apps',
      name: 'agent',
    })
    expect(ds?.status.numberReady).toBe(ds?.status.desiredNumberScheduled)
    const job = server.objects.get({
      apiVersion: 'batch/v1',
      kind: 'Job',
      namespace: 'apps',
      name: 'migrate',
    })
    expect(job?.status.succeeded).toBe(1)
  })
})

describe('HTTP protocol', () => {
  let server: KubeApiServer

  beforeAll(async () => {
    server = await startKubeApiServer({ namespaces: ['default', 'team'] })
  })
  afterAll(() => server.stop())
  afterEach(() => server.faults.clear())

  const cmPath = (name = '') => `/api/v1/namespaces/team/configmaps${name ? `/${name}` : ''}`
  const applyPatch = (path: string, body: unknown, query = 'fieldManager=test') =>
    server.request('PATCH', `${path}?${query}`, {
      body,
      contentType: 'application/apply-patch+yaml',
    })
  const configMap = (name: string, labels: Record<string, string> = {}, data = { a: '1' }) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels },
    data,
  })

  test('a write with a stale resourceVersion is refused with 409 Conflict', async () => {
    const created = await server.request('POST', cmPath(), { body: configMap('rv') })
    expect(created.status).toBe(201)
    const rv1 = created.body.metadata.resourceVersion
    const update = { ...created.body, data: { a: '2' } }
    const updated = await server.request('PUT', cmPath('rv'), { body: update })
    expect(updated.status).toBe(200)
    expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(rv1))

    const stale = await server.request('PUT', cmPath('rv'), {
      body: { ...update, data: { a: '3' } },
    })
    expect(stale.status).toBe(409)
    expect(stale.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Operation cannot be fulfilled on configmaps "rv": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'rv', kind: 'configmaps' },
      code: 409,
    })
    const patch = await server.request('PATCH', cmPath('rv'), {
      body: { metadata: { resourceVersion: rv1 }, data: { a: '4' } },
      contentType: 'application/merge-patch+json',
    })
    expect(patch.status).toBe(409)
    expect((await server.request('GET', cmPath('rv'))).body.data).toEqual({ a: '2' })
  })

  test('generation increments on spec changes only', async () => {
    const path = '/apis/apps/v1/namespaces/team/deployments/gen'
    const spec = {
      replicas: 1,
      selector: { matchLabels: { app: 'gen' } },
      template: {
        metadata: { labels: { app: 'gen' } },
        spec: { containers: [{ name: 'c', image: 'img:1' }] },
      },
    }
    const created = await applyPatch(path, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gen' },
      spec,
    })
    expect(created.status).toBe(201)
    expect(created.body.metadata.generation).toBe(1)
    await waitFor('the controller', () => !server.controllerBusy)

    const merge = (body: unknown, sub = '') =>
      server.request('PATCH', path + sub, { body, contentType: 'application/merge-patch+json' })
    const labelled = await merge({ metadata: { labels: { extra: 'yes' } } })
    expect(labelled.body.metadata.generation).toBe(1)
    const status = await merge({ status: { replicas: 7 } }, '/status')
    expect(status.body.metadata.generation).toBe(1)
    expect(status.body.status.replicas).toBe(7)
    // Status sent to the main resource is ignored, as on a real server.
    const ignored = await merge({ status: { replicas: 9 } })
    expect(ignored.body.status.replicas).toBe(7)
    const scaled = await merge({ spec: { replicas: 2 } })
    expect(scaled.body.metadata.generation).toBe(2)
    // Once the controller has reported generation 2, writing the object back unchanged is a no-op.
    await waitFor('the controller', () => !server.controllerBusy)
    const live = (await server.request('GET', path)).body
    expect(live.status.observedGeneration).toBe(2)
    const unchanged = await server.request('PUT', path, { body: live })
    expect(unchanged.status).toBe(200)
    expect(unchanged.body.metadata.generation).toBe(2)
    expect(unchanged.body.metadata.resourceVersion).toBe(live.metadata.resourceVersion)
  })

  test('lists honour labelSelector and fieldSelector, in a namespace and across all', async () => {
    await server.request('POST', cmPath(), { body: configMap('sel-a', { app: 'a', tier: 'web' }) })
    await server.request('POST', cmPath(), { body: configMap('sel-b', { app: 'b' }) })
    await server.request('POST', cmPath(), { body: configMap('sel-c', { app: 'c', tier: 'db' }) })
    await server.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: configMap('sel-d', { app: 'a' }),
    })
    const names = async (query: string, path = cmPath()) => {
      const r = await server.request('GET', `${path}?${query}`)
      expect(r.status).toBe(200)
      const items = r.body.items as { metadata: { name: string } }[]
      return items.map((o) => o.metadata.name).filter((n) => n.startsWith('sel-'))
    }
    const selector = (s: string) => `labelSelector=${encodeURIComponent(s)}`
    expect(await names(selector('app=a'))).toEqual(['sel-a'])
    expect(await names(selector('app!=a'))).toEqual(['sel-b', 'sel-c'])
    expect(await names(selector('app in (a,c)'))).toEqual(['sel-a', 'sel-c'])
    expect(await names(selector('app notin (a),tier'))).toEqual(['sel-c'])
    expect(await names(selector('!tier'))).toEqual(['sel-b'])
    expect(await names(selector('app=a'), '/api/v1/configmaps')).toEqual(['sel-d', 'sel-a'])
    expect(await names(`fieldSelector=${encodeURIComponent('metadata.name=sel-b')}`)).toEqual([
      'sel-b',
    ])
    const list = await server.request('GET', '/api/v1/configmaps?limit=2')
    expect(list.body).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1' })
    expect(list.body.metadata.resourceVersion).toBe(String(server.objects.resourceVersion()))
    expect(list.body.items).toHaveLength(2)
    const next = await server.request(
      'GET',
      `/api/v1/configmaps?limit=100&continue=${list.body.metadata.continue}`,
    )
    expect(next.body.items.length).toBe(list.body.metadata.remainingItemCount)
  })

  test('dryRun=All computes the result and stores nothing', async () => {
    await waitFor('the controller', () => !server.controllerBusy)
    const rv = server.objects.resourceVersion()
    const created = await applyPatch(
      cmPath('dry'),
      configMap('dry'),
      'fieldManager=test&dryRun=All',
    )
    expect(created.status).toBe(201)
    expect(created.body.data).toEqual({ a: '1' })
    expect((await server.request('GET', cmPath('dry'))).status).toBe(404)

    await applyPatch(cmPath('dry'), configMap('dry'))
    const stored = server.objects.resourceVersion()
    const changed = await applyPatch(
      cmPath('dry'),
      configMap('dry', {}, { a: '2' }),
      'fieldManager=test&dryRun=All',
    )
    expect(changed.body.data).toEqual({ a: '2' })
    expect(server.objects.resourceVersion()).toBe(stored)
    expect(stored).toBe(rv + 1)
    expect((await server.request('GET', cmPath('dry'))).body.data).toEqual({ a: '1' })
  })

  test('Status errors: NotFound, AlreadyExists, Invalid, BadRequest, MethodNotAllowed', async () => {
    const missing = await server.request('GET', cmPath('nope'))
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'configmaps "nope" not found',
    })
    const deploy = await server.request('GET', '/apis/apps/v1/namespaces/team/deployments/nope')
    expect(deploy.body.message).toBe('deployments.apps "nope" not found')
    expect(deploy.body.details).toEqual({ name: 'nope', group: 'apps', kind: 'deployments' })

    await server.request('POST', cmPath(), { body: configMap('twice') })
    const again = await server.request('POST', cmPath(), { body: configMap('twice') })
    expect(again.status).toBe(409)
    expect(again.body.reason).toBe('AlreadyExists')

    const nameless = await server.request('POST', cmPath(), {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
    })
    expect(nameless.status).toBe(422)
    expect(nameless.body).toMatchObject({ reason: 'Invalid', details: { kind: 'ConfigMap' } })
    expect(nameless.body.message).toContain('metadata.name: Required value')
    const badName = await server.request('POST', cmPath(), { body: configMap('Not_Valid') })
    expect(badName.status).toBe(422)

    const mismatch = await server.request('PUT', cmPath('twice'), { body: configMap('other') })
    expect(mismatch.status).toBe(400)
    expect(mismatch.body.message).toContain('does not match the name on the URL')

    const noManager = await applyPatch(cmPath('x'), configMap('x'), '')
    expect(noManager.status).toBe(422)
    expect(noManager.body.message).toContain('fieldManager: Required value')

    const verb = await server.request('POST', cmPath('twice'), { body: {} })
    expect(verb.status).toBe(405)
    const odd = await server.request('OPTIONS', cmPath())
    expect(odd.status).toBe(405)
    const unknown = await server.request('GET', '/apis/example.net/v1/things')
    expect(unknown.status).toBe(404)
    expect((await server.request('GET', '/openapi/v3')).status).toBe(404)
    expect((await server.request('GET', '/version')).body.gitVersion).toMatch(/^v1\.32\./)
  })

  test('a new CRD is served once Established, a moment after its create', async () => {
    const crd = (group: string) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `tools.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'tools', kind: 'Tool' },
        versions: [{ name: 'v1', served: true, storage: true }],
      },
    })
    const crds = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions'
    // A longer delay than the default 100 ms, so a busy machine still sees the steps.
    const slow = await startKubeApiServer({ crdEstablishDelayMs: 500 })
    try {
      const created = await slow.request('POST', crds, { body: crd('late.example.com') })
      expect(created.status).toBe(201)
      // As the real server answers the create: no conditions yet, no names accepted yet.
      expect(created.body.status).toEqual({
        conditions: null,
        acceptedNames: { plural: '', kind: '' },
        storedVersions: ['v1'],
      })
      // Not served yet: the group has no route, as on a real server.
      const early = await slow.request('GET', '/apis/late.example.com/v1/namespaces/default/tools')
      expect(early.status).toBe(404)
      expect(early.headers['content-type']).toBe('text/plain; charset=utf-8')
      expect(early.text).toBe('404 page not found\n')
      expect((await slow.request('GET', '/apis/late.example.com/v1')).status).toBe(404)

      // The names are accepted at once, Established follows (crdEstablishDelayMs).
      const conditions = async () =>
        ((await slow.request('GET', `${crds}/tools.late.example.com`)).body.status.conditions ??
          []) as { type: string; status: string; reason: string }[]
      await new Promise((r) => setTimeout(r, 20))
      expect((await conditions()).map((c) => [c.type, c.status, c.reason])).toEqual([
        ['NamesAccepted', 'True', 'NoConflicts'],
        ['Established', 'False', 'Installing'],
      ])
      for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
        if ((await conditions()).some((c) => c.type === 'Established' && c.status === 'True')) break
        await new Promise((r) => setTimeout(r, 10))
      }
      expect((await conditions()).map((c) => [c.type, c.status, c.reason])).toEqual([
        ['NamesAccepted', 'True', 'NoConflicts'],
        ['Established', 'True', 'InitialNamesAccepted'],
      ])
      const live = await slow.request('GET', '/apis/late.example.com/v1/namespaces/default/tools')
      expect(live.status).toBe(200)
      expect(live.body).toMatchObject({ kind: 'ToolList', items: [] })
      const discovery = await slow.request('GET', '/apis/late.example.com/v1')
      expect(discovery.body.resources[0]).toMatchObject({ name: 'tools', kind: 'Tool' })
    } finally {
      await slow.stop()
    }

    // crdEstablishDelayMs: 0 establishes it in the create itself.
    const instant = await startKubeApiServer({ crdEstablishDelayMs: 0 })
    try {
      const made = await instant.request('POST', crds, { body: crd('now.example.com') })
      expect(made.body.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Established', status: 'True' }),
      )
      expect((await instant.request('GET', '/apis/now.example.com/v1/tools')).status).toBe(200)
    } finally {
      await instant.stop()
    }
  })

  test('DELETE answers a Status when the object went, the object when it stays', async () => {
    await server.request('POST', cmPath(), { body: configMap('gone') })
    const gone = await server.request('DELETE', cmPath('gone'))
    expect(gone.status).toBe(200)
    expect(gone.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'gone', kind: 'configmaps', uid: expect.any(String) },
    })
    // Foreground and Orphan: the garbage collector's finalizer holds it until dependents are dealt
    // with (here at once), so the answer is the object being deleted.
    for (const [policy, finalizer] of [
      ['Foreground', 'foregroundDeletion'],
      ['Orphan', 'orphan'],
    ]) {
      await server.request('POST', cmPath(), { body: configMap('held-by-gc') })
      const held = await server.request('DELETE', cmPath('held-by-gc'), {
        body: { propagationPolicy: policy },
      })
      expect(held.body.kind).toBe('ConfigMap')
      expect(held.body.metadata).toMatchObject({
        deletionTimestamp: expect.any(String),
        finalizers: [finalizer],
      })
      expect((await server.request('GET', cmPath('held-by-gc'))).status).toBe(404)
    }
    // A few kinds (Services, Pods, ServiceAccounts…) answer the deleted object itself.
    await server.request('POST', '/api/v1/namespaces/team/serviceaccounts', {
      body: { metadata: { name: 'robot' } },
    })
    const robot = await server.request('DELETE', '/api/v1/namespaces/team/serviceaccounts/robot')
    expect(robot.body).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'robot' } })
  })

  test('finalizers keep a deleted object until they are removed', async () => {
    await server.request('POST', cmPath(), {
      body: { ...configMap('held'), metadata: { name: 'held', finalizers: ['example.com/hold'] } },
    })
    const deleted = await server.request('DELETE', cmPath('held'), {
      body: { propagationPolicy: 'Background' },
    })
    expect(deleted.status).toBe(200)
    expect(deleted.body.metadata.deletionTimestamp).toBeDefined()
    expect((await server.request('GET', cmPath('held'))).status).toBe(200)
    const released = await server.request('PATCH', cmPath('held'), {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    })
    expect(released.status).toBe(200)
    expect((await server.request('GET', cmPath('held'))).status).toBe(404)
  })

  test('deleting an owner collects its dependents (Background) or orphans them', async () => {
    const owner = (await server.request('POST', cmPath(), { body: configMap('owner') })).body
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }
    const dependent = (name: string) => ({
      ...configMap(name),
      metadata: { name, ownerReferences: [ref] },
    })
    await server.request('POST', cmPath(), { body: dependent('dep') })
    expect((await server.request('DELETE', cmPath('owner'))).status).toBe(200)
    expect((await server.request('GET', cmPath('dep'))).status).toBe(404)

    const owner2 = (await server.request('POST', cmPath(), { body: configMap('owner') })).body
    ref.uid = owner2.metadata.uid
    await server.request('POST', cmPath(), { body: dependent('kept') })
    await server.request('DELETE', cmPath('owner'), { body: { propagationPolicy: 'Orphan' } })
    const kept = await server.request('GET', cmPath('kept'))
    expect(kept.status).toBe(200)
    expect(kept.body.metadata.ownerReferences).toBeUndefined()
  })

  test('a terminating namespace refuses new content (403) and goes once its content is gone', async () => {
    await server.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'ending' } } })
    const held = {
      ...configMap('held'),
      metadata: { name: 'held', finalizers: ['example.com/hold'] },
    }
    await server.request('POST', '/api/v1/namespaces/ending/configmaps', { body: held })
    const deleted = await server.request('DELETE', '/api/v1/namespaces/ending')
    expect(deleted.body.status.phase).toBe('Terminating')
    const refused = await server.request('POST', '/api/v1/namespaces/ending/configmaps', {
      body: configMap('late'),
    })
    expect(refused.status).toBe(403)
    expect(refused.body.reason).toBe('Forbidden')
    expect(refused.body.message).toContain('because it is being terminated')
    await new Promise((r) => setTimeout(r, 150))
    expect((await server.request('GET', '/api/v1/namespaces/ending')).body.status.phase).toBe(
      'Terminating',
    )
    await server.request('PATCH', '/api/v1/namespaces/ending/configmaps/held', {
      body: { metadata: { finalizers: [] } },
      contentType: 'application/merge-patch+json',
    })
    await waitFor(
      'the namespace to go',
      () => !server.objects.get({ apiVersion: 'v1', kind: 'Namespace', name: 'ending' }),
    )
  })

  test('apply takes YAML bodies; JSON patch and strategic merge patch work', async () => {
    const yaml =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yml\ndata:\n  mode: "0644"\n  on: "yes"\n'
    const applied = await applyPatch(cmPath('yml'), yaml)
    expect(applied.status).toBe(201)
    // YAML 1.1, as the real server reads it: the key `on` is the boolean true.
    expect(applied.body.data).toEqual({ mode: '0644', true: 'yes' })

    const patched = await server.request('PATCH', cmPath('yml'), {
      body: [
        { op: 'add', path: '/data/extra', value: 'x' },
        { op: 'remove', path: '/data/true' },
      ],
      contentType: 'application/json-patch+json',
    })
    expect(patched.body.data).toEqual({ mode: '0644', extra: 'x' })

    const path = '/apis/apps/v1/namespaces/team/deployments/smp'
    const container = (name: string) => ({
      name,
      image: `${name}:1`,
      ports: [{ containerPort: 80 }],
    })
    await applyPatch(path, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'smp' },
      spec: {
        selector: { matchLabels: { app: 'smp' } },
        template: {
          metadata: { labels: { app: 'smp' } },
          spec: { containers: [container('a'), container('b')] },
        },
      },
    })
    const smp = await server.request('PATCH', path, {
      body: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'a', image: 'a:2' },
                { name: 'b', $patch: 'delete' },
              ],
            },
          },
        },
      },
      contentType: 'application/strategic-merge-patch+json',
    })
    expect(smp.body.spec.template.spec.containers).toEqual([
      {
        name: 'a',
        image: 'a:2',
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        // The API's container defaults, as the real server fills them in.
        imagePullPolicy: 'IfNotPresent',
        resources: {},
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      },
    ])
    expect(smp.body.spec.replicas).toBe(1) // defaulted, as the real server does
    const wrongType = await server.request('PATCH', path, { body: {}, contentType: 'text/plain' })
    expect(wrongType.status).toBe(415)
  })

  test('Tables for kubectl-style Accept headers; delete preconditions', async () => {
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
    const table = await server.request('GET', cmPath(), { headers: { Accept: accept } })
    expect(table.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' })
    expect((table.body.columnDefinitions as any[]).map((c) => c.name)).toEqual([
      'Name',
      'Data',
      'Age',
    ])
    const row = (table.body.rows as any[]).find((r) => r.cells[0] === 'twice')
    expect(row.object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'twice' } })
    const full = await server.request('GET', `${cmPath('twice')}?includeObject=Object`, {
      headers: { Accept: accept },
    })
    expect(full.body.rows[0].object.data).toEqual({ a: '1' })

    const wrongUid = await server.request('DELETE', cmPath('twice'), {
      body: { preconditions: { uid: 'not-this-one' } },
    })
    expect(wrongUid.status).toBe(409)
    expect(wrongUid.body.message).toContain(
      'Precondition failed: UID in precondition: not-this-one',
    )
  })

  test('a watch streams changes after a resourceVersion', async () => {
    const rv = server.objects.resourceVersion()
    const watching = server.request(
      'GET',
      `${cmPath()}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
    )
    await new Promise((r) => setTimeout(r, 100))
    await server.request('POST', cmPath(), { body: configMap('watched') })
    await server.request('DELETE', cmPath('watched'))
    const events = (await watching).text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(events.map((e: any) => [e.type, e.object.metadata.name])).toEqual([
      ['ADDED', 'watched'],
      ['DELETED', 'watched'],
    ])
  })

  test('fault injection: error answers, latency, dropped connections, limited times', async () => {
    server.faults.add({ method: 'GET', path: /\/configmaps\/rv$/, errorRate: 1 })
    const failed = await server.request('GET', cmPath('rv'))
    expect(failed.status).toBe(500)
    expect(failed.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'InternalError',
      code: 500,
    })
    expect((await server.request('GET', cmPath('twice'))).status).toBe(200)
    server.faults.clear()

    server.faults.add({ path: /\/configmaps\/rv/, errorRate: 1, errorCode: 503, times: 1 })
    expect((await server.request('GET', cmPath('rv'))).status).toBe(503)
    expect((await server.request('GET', cmPath('rv'))).status).toBe(200)

    server.faults.add({ method: 'GET', path: /\/configmaps\/rv/, latencyMs: 250 })
    const started = Date.now()
    expect((await server.request('GET', cmPath('rv'))).status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(240)
    server.faults.clear()

    server.faults.add({ path: /\/configmaps\/rv/, dropRate: 1 })
    await expect(server.request('GET', cmPath('rv'))).rejects.toThrow(/socket hang up|ECONNRESET/)
    expect(server.requests.count('GET', cmPath('rv'))).toBeGreaterThanOrEqual(5)
    expect(server.requests.all().at(-1)?.status).toBe(0)

    // Over HTTP/2 a dropped request's stream is reset; the connection goes on serving the others.
    const session = connect(server.url, { ca: server.ca })
    try {
      const get = (path: string) =>
        new Promise<number>((resolve, reject) => {
          const stream = session.request({ ':path': path, authorization: `Bearer ${server.token}` })
          let status = 0
          stream.on('response', (h) => (status = Number(h[':status'])))
          stream.on('error', reject)
          stream.on('end', () => resolve(status))
          stream.resume()
        })
      const [dropped, answered] = await Promise.allSettled([
        get(cmPath('rv')),
        get('/api/v1/namespaces/default'),
      ])
      expect(String((dropped as PromiseRejectedResult).reason)).toMatch(/NGHTTP2_INTERNAL_ERROR/)
      expect((answered as PromiseFulfilledResult<number>).value).toBe(200)
      const seen = server.requests.all().slice(-2)
      expect(seen.map((r) => [r.httpVersion, r.status])).toEqual(
        expect.arrayContaining([
          ['2.0', 0],
          ['2.0', 200],
        ]),
      )
    } finally {
      session.close()
    }
  })
  test('a fault with code 403 answers as RBAC does, naming the verb, resource, group and scope', async () => {
    server.faults.add({ path: /clusterroles|configmaps\/denied/, errorRate: 1, errorCode: 403 })
    const named = await server.request(
      'PATCH',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/agent?fieldManager=x',
      { body: {}, contentType: 'application/apply-patch+yaml' },
    )
    expect(named.status).toBe(403)
    expect(named.body).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      details: { name: 'agent', group: 'rbac.authorization.k8s.io', kind: 'clusterroles' },
      message:
        'clusterroles.rbac.authorization.k8s.io "agent" is forbidden: User "test-user" cannot patch resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope',
    })
    const listed = await server.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles')
    expect(listed.body.message).toMatch(
      /^clusterroles.rbac.authorization.k8s.io is forbidden: .* cannot list /,
    )
    const inNamespace = await server.request('GET', cmPath('denied'))
    expect(inNamespace.body.message).toBe(
      'configmaps "denied" is forbidden: User "test-user" cannot get resource "configmaps" in API group "" in the namespace "team"',
    )
  })

  test('a list item an applier drops goes whole, its defaulted fields too', async () => {
    const path = '/apis/apps/v1/namespaces/team/deployments/volumes'
    const deployment = (volumes: string[]) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'volumes' },
      spec: {
        selector: { matchLabels: { app: 'v' } },
        template: {
          metadata: { labels: { app: 'v' } },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'x',
                volumeMounts: volumes.map((v) => ({ name: v, mountPath: `/${v}`, readOnly: true })),
              },
            ],
            volumes: volumes.map((v) => ({ name: v, secret: { secretName: v } })),
          },
        },
      },
    })
    expect((await applyPatch(path, deployment(['a', 'b']))).status).toBe(201)
    const after = await applyPatch(path, deployment(['a']))
    expect(after.status).toBe(200)
    const pod = after.body.spec.template.spec
    expect(pod.volumes).toEqual([{ name: 'a', secret: { secretName: 'a', defaultMode: 420 } }])
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'a', mountPath: '/a', readOnly: true }])
  })
})

describe('protocols', () => {
  const alpn = (url: string, ca?: string) =>
    new Promise<string | false>((resolve, reject) => {
      const { hostname, port } = new URL(url)
      const socket = tlsConnect(
        { host: hostname, port: Number(port), ca, ALPNProtocols: ['h2', 'http/1.1'] },
        () => {
          resolve(socket.alpnProtocol ?? false)
          socket.destroy()
        },
      )
      socket.on('error', reject)
    })

  test('over TLS HTTP/2 is offered, as kube-apiserver does; http2: false offers HTTP/1.1 alone', async () => {
    const both = await startKubeApiServer()
    const h1 = await startKubeApiServer({ http2: false })
    try {
      expect(await alpn(both.url, both.ca)).toBe('h2')
      expect(await alpn(h1.url, h1.ca)).toBe('http/1.1')
      // HTTP/1.1 clients are served by both.
      for (const s of [both, h1]) {
        expect((await s.request('GET', '/api/v1/namespaces/default')).status).toBe(200)
        expect(s.requests.all().at(-1)?.httpVersion).toBe('1.1')
      }
    } finally {
      await both.stop()
      await h1.stop()
    }
  })
})

describe('plain HTTP mode', () => {
  test('fetch and kubectl work with insecure-skip-tls-verify', async () => {
    const server = await startKubeApiServer({ tls: false })
    try {
      expect(server.url).toMatch(/^http:\/\//)
      const config = parseYaml(readFileSync(server.kubeconfigPath, 'utf8'))
      expect(config.clusters[0].cluster['insecure-skip-tls-verify']).toBe(true)
      const r = await fetch(`${server.url}/api/v1/namespaces`, {
        headers: { Accept: 'application/json' },
      })
      expect(r.status).toBe(200)
      const list = (await r.json()) as { items: any[] }
      expect(list.items.map((n: any) => n.metadata.name)).toContain('default')
      const got = await runKubectl(
        server.kubeconfigPath,
        join(tempDir('kube-api-http-'), 'cache'),
        ['get', 'ns', 'default', '-o', 'name'],
      )
      expect(got.stdout.trim()).toBe('namespace/default')
    } finally {
      await server.stop()
    }
  })
})
