// The sync agent (dist/agent --once) against a real control plane: kube-apiserver with etcd, the
// Deployment/ReplicaSet/garbage-collector/namespace controllers, kube-scheduler, and kwok's fake nodes.
// Flux v1's read-only scenarios, then what only a real cluster shows: rollouts the controllers perform,
// garbage collection of owned objects, finalizers, apply conflicts, CRDs, and health from real status.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bareRemote, pushFiles, type Remote } from '../support/git.js'
import { runNode } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'
import {
  clusterKubeconfig,
  describeCluster,
  expectExit,
  eventually,
  getObject,
  kubectl,
  listObjects,
  uniqueName,
} from './support.js'

afterAll(cleanupTempDirs)

const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`
const cm = (name: string, namespace: string, data: Record<string, string>, extraMeta = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n${extraMeta}data:\n${Object.entries(
    data,
  )
    .map(([k, v]) => `  ${k}: "${v}"\n`)
    .join('')}`
const deployment = (name: string, namespace: string, image: string, replicas = 2) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  replicas: ${replicas}\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: app\n          image: ${image}\n`
const service = (name: string, namespace: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  selector:\n    app: ${name}\n  ports:\n    - port: 80\n`

/** A fresh agent namespace (its inventories and lease) and app namespace for one test. */
async function setup(): Promise<{ agentNs: string; apps: string; remote: Remote; work: string }> {
  const agentNs = uniqueName('gitops')
  await kubectl('create', 'namespace', agentNs)
  return { agentNs, apps: uniqueName('apps'), remote: bareRemote(), work: tempDir('gitops-agent-') }
}

function agent(
  t: { agentNs: string; remote: Remote; work: string },
  ...extra: string[]
): ReturnType<typeof runNode> {
  return runNode('agent', [
    '--once',
    `--git-url=${t.remote.url}`,
    '--git-path=releases/staging',
    `--kubeconfig=${clusterKubeconfig()}`,
    `--namespace=${t.agentNs}`,
    '--log-format=text',
    `--work-dir=${t.work}`,
    '--health-timeout=60s',
    ...extra,
  ])
}

/** The ReplicaSets and Pods of an app now (by its `app` label; the first test checks the owner chain). */
async function owned(namespace: string, app: string) {
  const replicaSets = await listObjects('replicasets', namespace, `app=${app}`)
  const pods = await listObjects('pods', namespace, `app=${app}`)
  return { replicaSets, pods }
}

const imageOf = (d: any): string => d.spec.template.spec.containers[0].image

interface ManagedField {
  manager: string
  operation: string
  fieldsV1: unknown
}

describeCluster('Flux v1 read-only scenarios on a real cluster', () => {
  test('sync, an image change, and a manifest removed from git garbage-collected', async () => {
    const t = await setup()
    pushFiles(t.remote, {
      'releases/staging/shop/namespace.yaml': ns(t.apps),
      'releases/staging/shop/deployment.yaml': deployment('shop', t.apps, 'acme/shop:1.0.0'),
      'releases/staging/shop/service.yaml': service('shop', t.apps),
      'releases/staging/shop/configmap.yaml': cm('shop', t.apps, { color: 'blue' }),
    })
    const first = await agent(t, '--sync-garbage-collection')
    expect(first.stdout).toMatch(/event=sync unit=releases\/staging\/shop status=synced/)
    expectExit(first, 0)

    // The agent waited for the real rollout: two pods scheduled onto kwok's nodes, Running and Ready.
    const live = await getObject('deployment', 'shop', t.apps)
    expect(live.metadata.labels).toMatchObject({ 'gitops-actions.dev/agent': t.agentNs })
    expect(live.status.availableReplicas).toBe(2)
    const { replicaSets, pods } = await owned(t.apps, 'shop')
    expect(replicaSets).toHaveLength(1)
    expect(replicaSets[0].metadata.ownerReferences[0]).toMatchObject({
      kind: 'Deployment',
      name: 'shop',
      uid: live.metadata.uid,
    })
    expect(pods).toHaveLength(2)
    for (const pod of pods) {
      expect(pod.spec.nodeName).toMatch(/^kwok-node-/)
      expect(pod.status.phase).toBe('Running')
    }
    // A Service got a cluster IP from the real allocator.
    expect((await getObject('service', 'shop', t.apps)).spec.clusterIP).toMatch(/^10\.0\.0\./)

    // An image change reaches the cluster: a new ReplicaSet takes over, the old one is scaled to zero.
    pushFiles(t.remote, {
      'releases/staging/shop/deployment.yaml': deployment('shop', t.apps, 'acme/shop:1.1.0'),
    })
    const second = await agent(t, '--sync-garbage-collection')
    expectExit(second, 0)
    expect(imageOf(await getObject('deployment', 'shop', t.apps))).toBe('acme/shop:1.1.0')
    const after = await owned(t.apps, 'shop')
    expect(after.replicaSets).toHaveLength(2)
    const current = after.replicaSets.find((rs) => imageOf(rs) === 'acme/shop:1.1.0')
    const old = after.replicaSets.find((rs) => imageOf(rs) === 'acme/shop:1.0.0')
    expect(current.status.readyReplicas).toBe(2)
    expect(old.spec.replicas).toBe(0)
    await eventually('the old pods to be gone', async () => {
      const images = (await listObjects('pods', t.apps, 'app=shop')).map(
        (p) => p.spec.containers[0].image,
      )
      return images.length === 2 && images.every((i) => i === 'acme/shop:1.1.0')
    })

    // A manifest removed from git is pruned from the cluster; what stays in git stays.
    pushFiles(t.remote, { 'releases/staging/shop/configmap.yaml': null })
    const third = await agent(t, '--sync-garbage-collection')
    expectExit(third, 0)
    expect(third.stdout).toMatch(
      new RegExp(`event=pruned unit=releases/staging/shop ConfigMap/${t.apps}/shop`),
    )
    expect(await getObject('configmap', 'shop', t.apps)).toBeUndefined()
    expect(await getObject('service', 'shop', t.apps)).toBeDefined()
  }, 240_000)

  test('a duplicated resource fails its unit and applies nothing of it; other units go on', async () => {
    const t = await setup()
    pushFiles(t.remote, {
      'releases/staging/shop/namespace.yaml': ns(t.apps),
      'releases/staging/shop/deployment.yaml': deployment('shop', t.apps, 'acme/shop:1.0.0', 1),
      'releases/staging/cart/configmap.yaml': cm('cart', t.apps, { size: '1' }),
    })
    expectExit(await agent(t), 0)

    pushFiles(t.remote, {
      'releases/staging/shop/deployment.yaml': deployment('shop', t.apps, 'acme/shop:2.0.0', 1),
      'releases/staging/shop/copy/deployment.yaml': deployment(
        'shop',
        t.apps,
        'acme/shop:2.0.1',
        1,
      ),
      'releases/staging/shop/configmap-new.yaml': cm('new', t.apps, { a: 'b' }),
      'releases/staging/cart/configmap.yaml': cm('cart', t.apps, { size: '2' }),
    })
    const r = await agent(t)
    expectExit(r, 1)
    expect(r.stdout).toMatch(
      new RegExp(`unit=releases/staging/shop status=failed .*duplicate Deployment/${t.apps}/shop`),
    )
    expect(imageOf(await getObject('deployment', 'shop', t.apps))).toBe('acme/shop:1.0.0')
    expect(await getObject('configmap', 'new', t.apps)).toBeUndefined()
    expect((await getObject('configmap', 'cart', t.apps)).data.size).toBe('2')
  }, 180_000)
})

describeCluster('what only a real cluster does', () => {
  test('pruning a Deployment: the garbage collector removes its ReplicaSets and Pods; a finalizer holds an object until it is released', async () => {
    const t = await setup()
    pushFiles(t.remote, {
      'releases/staging/web/namespace.yaml': ns(t.apps),
      'releases/staging/web/deployment.yaml': deployment('web', t.apps, 'acme/web:1.0.0', 3),
      'releases/staging/web/held.yaml': cm(
        'held',
        t.apps,
        { a: '1' },
        '  finalizers:\n    - example.com/hold\n',
      ),
    })
    expectExit(await agent(t, '--sync-garbage-collection'), 0)
    const before = await owned(t.apps, 'web')
    expect(before.replicaSets).toHaveLength(1)
    expect(before.pods).toHaveLength(3)

    pushFiles(t.remote, {
      'releases/staging/web/deployment.yaml': null,
      'releases/staging/web/held.yaml': null,
    })
    const r = await agent(t, '--sync-garbage-collection')
    expectExit(r, 0)
    expect(r.stdout).toMatch(
      new RegExp(`event=pruned unit=releases/staging/web Deployment/${t.apps}/web`),
    )
    expect(r.stdout).toMatch(
      new RegExp(`event=pruned unit=releases/staging/web ConfigMap/${t.apps}/held`),
    )
    expect(await getObject('deployment', 'web', t.apps)).toBeUndefined()
    // The agent deletes with propagationPolicy=Background: the owner goes at once, then the garbage
    // collector deletes the ReplicaSet, and the Pods after it (kwok confirms each Pod's termination).
    await eventually('the ReplicaSet and Pods to be collected', async () => {
      const now = await owned(t.apps, 'web')
      return now.replicaSets.length === 0 && now.pods.length === 0
    })

    // The finalizer keeps the pruned ConfigMap, Terminating, until its owner lets go.
    const held = await getObject('configmap', 'held', t.apps)
    expect(held.metadata.deletionTimestamp).toBeDefined()
    expect(held.metadata.finalizers).toEqual(['example.com/hold'])
    await kubectl(
      'patch',
      'configmap',
      'held',
      `--namespace=${t.apps}`,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    )
    await eventually('the released ConfigMap to be gone', async () =>
      (await getObject('configmap', 'held', t.apps)) === undefined ? true : undefined,
    )
    // The next cycle has nothing left to do.
    const again = await agent(t, '--sync-garbage-collection', '--sync-interval=0s')
    expectExit(again, 0)
    expect(again.stdout).not.toMatch(/event=pruned/)
  }, 240_000)

  test('another field manager changes a field git owns: the conflict is real, and the agent (forcing) takes it back', async () => {
    const t = await setup()
    pushFiles(t.remote, {
      'releases/staging/shop/namespace.yaml': ns(t.apps),
      'releases/staging/shop/deployment.yaml': deployment('shop', t.apps, 'acme/shop:1.0.0', 1),
    })
    expectExit(await agent(t), 0)

    // kubectl as another manager: without --force-conflicts the server refuses (409, the field is the agent's).
    const manifest = join(tempDir('gitops-manifest-'), 'deployment.yaml')
    writeFileSync(manifest, deployment('shop', t.apps, 'acme/shop:hotfix', 1))
    await expect(
      kubectl('apply', '--server-side', '--field-manager=human', '-f', manifest),
    ).rejects.toThrow(
      /conflict.*"gitops-agent".*\.spec\.template\.spec\.containers\[name="app"\]\.image/s,
    )
    await kubectl(
      'apply',
      '--server-side',
      '--field-manager=human',
      '--force-conflicts',
      '-f',
      manifest,
    )
    const taken = await getObject('deployment', 'shop', t.apps)
    expect(imageOf(taken)).toBe('acme/shop:hotfix')
    const ownsImage = (d: any, manager: string) =>
      (d.metadata.managedFields as ManagedField[]).some(
        (m) =>
          m.manager === manager &&
          m.operation === 'Apply' &&
          JSON.stringify(m.fieldsV1).includes('"f:image"'),
      )
    expect(ownsImage(taken, 'human')).toBe(true)
    expect(ownsImage(taken, 'gitops-agent')).toBe(false)

    // The unit's content did not change, so --sync-interval=0s makes the agent re-apply (drift correction).
    const r = await agent(t, '--sync-interval=0s')
    expectExit(r, 0)
    const back = await getObject('deployment', 'shop', t.apps)
    expect(imageOf(back)).toBe('acme/shop:1.0.0')
    expect(ownsImage(back, 'gitops-agent')).toBe(true)
    expect(ownsImage(back, 'human')).toBe(false)
  }, 180_000)

  // A real API server serves a CRD's kind only once the CRD is Established: the agent takes the kind's
  // scope from the CRD in git and waits for Established before applying its custom resources.
  test('a CRD and its custom resources in one sync', async () => {
    const t = await setup()
    const group = `${uniqueName('w')}.example.com`
    pushFiles(t.remote, {
      'releases/staging/widgets/namespace.yaml': ns(t.apps),
      'releases/staging/widgets/crd.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.${group}
spec:
  group: ${group}
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size:
                  type: integer
`,
      'releases/staging/widgets/widget.yaml': `apiVersion: ${group}/v1
kind: Widget
metadata:
  name: first
  namespace: ${t.apps}
spec:
  size: 3
`,
    })
    const r = await agent(t)
    expect(r.stdout).toMatch(/unit=releases\/staging\/widgets status=synced/)
    expectExit(r, 0)
    const widget = await getObject(`widgets.${group}`, 'first', t.apps)
    expect(widget.spec.size).toBe(3)
    expect(widget.metadata.labels).toMatchObject({ 'gitops-actions.dev/agent': t.agentNs })
  }, 180_000)

  test('health from real status: a Deployment and a Job that finish pass; an image that cannot be pulled fails the unit', async () => {
    const t = await setup()
    pushFiles(t.remote, {
      'releases/staging/ok/namespace.yaml': ns(t.apps),
      'releases/staging/ok/deployment.yaml': deployment('ok', t.apps, 'acme/ok:1.0.0', 2),
      'releases/staging/ok/job.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: ${t.apps}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: acme/migrate:1.0.0
`,
    })
    const ok = await agent(t)
    expect(ok.stdout).toMatch(/unit=releases\/staging\/ok status=synced/)
    expectExit(ok, 0)
    const job = await getObject('job', 'migrate', t.apps)
    expect(job.status.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Complete', status: 'True' })]),
    )

    pushFiles(t.remote, {
      'releases/staging/bad/deployment.yaml': deployment('bad', t.apps, 'acme/bad:fail-1', 2),
    })
    const started = Date.now()
    const bad = await agent(t, '--health-timeout=8s')
    expectExit(bad, 1)
    expect(bad.stdout).toMatch(
      new RegExp(`unit=releases/staging/bad status=failed .*unhealthy: Deployment/${t.apps}/bad`),
    )
    expect(bad.stdout).toMatch(/unit=releases\/staging\/ok status=unchanged/)
    expect(Date.now() - started).toBeLessThan(60_000)
    // What the health check met: pods scheduled, but waiting on the image and not Ready.
    const pods = await listObjects('pods', t.apps, 'app=bad')
    expect(pods).toHaveLength(2)
    for (const pod of pods) {
      expect(pod.spec.nodeName).toMatch(/^kwok-node-/)
      expect(pod.status.containerStatuses[0].state.waiting.reason).toBe('ImagePullBackOff')
      expect(pod.status.conditions).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'False' })]),
      )
    }
    const live = await getObject('deployment', 'bad', t.apps)
    expect(live.status.availableReplicas ?? 0).toBe(0)
  }, 180_000)
})
