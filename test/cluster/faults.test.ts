// The agent through a fault-injecting proxy in front of the real API server: errors, dropped connections
// and latency in the middle of an apply fail the unit without pruning anything wrongly, and the next
// --once, with the API healthy again, converges.
import { spawn } from 'node:child_process'
import { bareRemote, pushFiles } from '../support/git.js'
import { dist } from '../support/paths.js'
import { runNode } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'
import { describeCluster, expectExit, getObject, kubectl, uniqueName } from './support.js'

let proxy: FaultProxy

const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`
const cm = (name: string, namespace: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  value: "${value}"\n`
const deployment = (namespace: string, image: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\n  namespace: ${namespace}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: shop\n  template:\n    metadata:\n      labels:\n        app: shop\n    spec:\n      containers:\n        - name: app\n          image: ${image}\n`

describeCluster('API faults in the middle of a sync', () => {
  beforeAll(async () => {
    proxy = await startFaultProxy()
  })
  afterAll(async () => {
    await proxy?.stop()
    cleanupTempDirs()
  })

  test('errors, a dropped connection and latency mid-apply: the unit fails, nothing is pruned wrongly, the next --once converges', async () => {
    const agentNs = uniqueName('gitops')
    const apps = uniqueName('apps')
    await kubectl('create', 'namespace', agentNs)
    const remote = bareRemote()
    const work = tempDir('gitops-agent-')
    const agent = (...extra: string[]) =>
      runNode('agent', [
        '--once',
        `--git-url=${remote.url}`,
        '--git-path=releases/staging',
        `--kubeconfig=${proxy.kubeconfigPath}`,
        `--namespace=${agentNs}`,
        '--log-format=text',
        `--work-dir=${work}`,
        '--health-timeout=60s',
        '--sync-garbage-collection',
        ...extra,
      ])

    const files = (image: string, names: string[]): Record<string, string> => ({
      'releases/staging/shop/namespace.yaml': ns(apps),
      'releases/staging/shop/deployment.yaml': deployment(apps, image),
      ...Object.fromEntries(
        names.map((n) => [`releases/staging/shop/configmap-${n}.yaml`, cm(n, apps, image)]),
      ),
    })
    pushFiles(remote, files('acme/shop:1.0.0', ['a', 'b', 'c']))
    expectExit(await agent(), 0)

    // The next release drops c, changes a and b, adds d and e; the API misbehaves while it is applied.
    pushFiles(remote, {
      ...files('acme/shop:2.0.0', ['a', 'b', 'd', 'e']),
      'releases/staging/shop/configmap-c.yaml': null,
    })
    proxy.faults.add({ method: 'PATCH', path: /\/configmaps\/d\?/, errorRate: 1, errorCode: 503 })
    // Every try of the Deployment's apply is dropped: the agent sends it again while its kept-alive
    // connections may be stale, then gives up when a new connection drops it too.
    proxy.faults.add({ method: 'PATCH', path: /\/deployments\/shop\?/, dropRate: 1 })
    proxy.faults.add({ path: /\/configmaps\//, latencyMs: 300 })
    const failed = await agent()
    expectExit(failed, 1)
    expect(failed.stdout).toMatch(/unit=releases\/staging\/shop status=failed/)
    expect(proxy.log.some((r) => r.fault === 'error')).toBe(true)
    expect(failed.stdout).toMatch(
      /apply Deployment\/[^/]+\/shop: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: (socket hang up|read ECONNRESET)/,
    )
    // Nothing was pruned after the failed apply: c is still there, as are the objects kept in git.
    expect(failed.stdout).not.toMatch(/event=pruned/)
    expect(await getObject('configmap', 'c', apps)).toBeDefined()
    expect(await getObject('configmap', 'a', apps)).toBeDefined()
    expect(await getObject('deployment', 'shop', apps)).toBeDefined()
    expect(await getObject('configmap', 'd', apps)).toBeUndefined()

    // The API is healthy again (slow, but answering): the next cycle applies everything and prunes c.
    proxy.faults.clear()
    proxy.faults.add({ latencyMs: 50 })
    const converged = await agent()
    expectExit(converged, 0)
    expect(converged.stdout).toMatch(
      new RegExp(`event=pruned unit=releases/staging/shop ConfigMap/${apps}/c`),
    )
    expect(await getObject('configmap', 'c', apps)).toBeUndefined()
    for (const name of ['a', 'b', 'd', 'e']) {
      expect((await getObject('configmap', name, apps)).data.value).toBe('acme/shop:2.0.0')
    }
    const live = await getObject('deployment', 'shop', apps)
    expect(live.spec.template.spec.containers[0].image).toBe('acme/shop:2.0.0')
    expect(live.status.availableReplicas).toBe(1)
    proxy.faults.clear()
  }, 240_000)

  test('killed mid-apply and restarted: nothing pruned wrongly, the next cycle converges', async () => {
    const agentNs = uniqueName('gitops')
    const apps = uniqueName('apps')
    await kubectl('create', 'namespace', agentNs)
    const remote = bareRemote()
    const work = tempDir('gitops-agent-')
    const args = [
      '--once',
      `--git-url=${remote.url}`,
      '--git-path=releases/staging',
      `--kubeconfig=${proxy.kubeconfigPath}`,
      `--namespace=${agentNs}`,
      '--log-format=text',
      `--work-dir=${work}`,
      '--sync-garbage-collection',
      '--concurrency=2',
    ]
    const release = (names: string[], value: string): Record<string, string> => ({
      'releases/staging/shop/namespace.yaml': ns(apps),
      ...Object.fromEntries(
        names.map((n) => [`releases/staging/shop/configmap-${n}.yaml`, cm(n, apps, value)]),
      ),
    })
    pushFiles(remote, release(['a', 'b', 'c'], 'v1'))
    expectExit(await runNode('agent', args), 0)

    // The next release drops c and adds forty; the agent is killed while they are applied, slowly.
    const next = Array.from({ length: 40 }, (_, i) => `n${i}`)
    pushFiles(remote, {
      ...release(['a', 'b', ...next], 'v2'),
      'releases/staging/shop/configmap-c.yaml': null,
    })
    proxy.faults.add({ method: 'PATCH', path: /\/configmaps\//, latencyMs: 150 })
    const seen = proxy.log.length
    const child = spawn(process.execPath, [dist('agent'), ...args], { stdio: 'ignore' })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    const patched = () =>
      proxy.log.slice(seen).filter((r) => r.method === 'PATCH' && r.url.includes('/configmaps/'))
        .length
    while (patched() < 6) await new Promise((r) => setTimeout(r, 20))
    child.kill('SIGKILL')
    await exited
    proxy.faults.clear()
    // Half a release is in the cluster; c, which git dropped, is not pruned yet, a and b are kept.
    expect(await getObject('configmap', 'c', apps)).toBeDefined()
    expect(await getObject('configmap', 'a', apps)).toBeDefined()
    expect(await getObject('configmap', 'n39', apps)).toBeUndefined()

    // Restarted (its lease, held by the killed process, is its own: same identity): it converges.
    const again = await runNode('agent', args)
    expectExit(again, 0)
    expect(await getObject('configmap', 'c', apps)).toBeUndefined()
    for (const name of ['a', 'b', ...next])
      expect((await getObject('configmap', name, apps))?.data.value).toBe('v2')
  }, 240_000)
})
