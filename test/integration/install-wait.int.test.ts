// install-agent's wait against the test API server: the Deployment's rollout (the server's workload
// controller writes its status), then the real agent (dist/agent --once) recording its inventories; the
// pods' statuses a kubelet would write are written by the tests.
import { AGENT_NS as NS, agentArgs } from '../support/agent.js'
import { bareRemote, pushFiles } from '../support/git.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { runNode } from '../support/run-bundle.js'
import { cleanupTempDirs } from '../support/tmp.js'
import { KubeClient } from '../../src/lib/kube/client.js'
import type { KubeObject } from '../../src/lib/manifests/yaml.js'
import { waitForAgent, type WaitOptions } from '../../src/lib/install/wait.js'
import { silentLogger } from '../../src/lib/log.js'

let server: KubeApiServer
let client: KubeClient

beforeEach(async () => {
  // A failing rollout is left progressing (no deadline) unless a test asks otherwise.
  server = await startKubeApiServer({
    namespaces: ['default', NS],
    rolloutDelayMs: 20,
    progressDeadlineMs: 60_000,
  })
  client = KubeClient.load(server.kubeconfigPath)
})
afterEach(async () => {
  client.close()
  await server.stop()
})
afterAll(cleanupTempDirs)

const LABELS = { 'app.kubernetes.io/name': 'gitops-agent' }

/** deploy/base's Deployment, reduced to what the wait reads. */
function agentDeployment(image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'gitops-agent', namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: LABELS },
      template: {
        metadata: { labels: LABELS },
        spec: { containers: [{ name: 'agent', image }] },
      },
    },
  }
}

const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  v: "${value}"\n`

/** One sync by the real agent, as the installed Deployment would run it. */
async function syncOnce(remote: ReturnType<typeof bareRemote>): Promise<number> {
  return (await runNode('agent', agentArgs(server, remote, ['--once']))).code
}

const options = (extra: Partial<WaitOptions>): WaitOptions => ({
  namespace: NS,
  timeoutMs: 10_000,
  intervalMs: 100,
  log: silentLogger,
  ...extra,
})

test('ready once the Deployment rolled out and the agent recorded a sync of the head', async () => {
  const remote = bareRemote()
  const head = pushFiles(remote, {
    'releases/staging/shop/configmap.yaml': configMap('shop', '1'),
    'releases/staging/cart/configmap.yaml': configMap('cart', '1'),
  })
  server.objects.apply(agentDeployment('ghcr.io/acme/gitops-agent:v1.2.3'))
  const waiting = waitForAgent(client, options({ commit: head }))
  // The wait is under way before the agent has synced anything.
  await new Promise((r) => setTimeout(r, 300))
  expect(await syncOnce(remote)).toBe(0)
  const result = await waiting
  expect(result).toMatchObject({
    ready: true,
    syncedCommit: head,
    agentVersion: 'v1.2.3',
    image: 'ghcr.io/acme/gitops-agent:v1.2.3',
  })
  // Ready at the first unit recorded at the head: the units are those recorded by then.
  expect(result.units.length).toBeGreaterThan(0)
  for (const unit of result.units)
    expect(['releases/staging/cart', 'releases/staging/shop']).toContain(unit)
  // Once the agent is done, every unit it synced is there.
  expect((await waitForAgent(client, options({ commit: head }))).units).toEqual([
    'releases/staging/cart',
    'releases/staging/shop',
  ])
})

test('without a commit, the first recorded sync suffices', async () => {
  const remote = bareRemote()
  const head = pushFiles(remote, { 'releases/staging/shop/configmap.yaml': configMap('shop', '1') })
  server.objects.apply(
    agentDeployment('ghcr.io/acme/gitops-agent@sha256:0123456789abcdef0123456789abcdef'),
  )
  expect(await syncOnce(remote)).toBe(0)
  const result = await waitForAgent(client, options({}))
  expect(result.ready).toBe(true)
  expect(result.syncedCommit).toBe(head)
  expect(result.units).toEqual(['releases/staging/shop'])
  expect(result.agentVersion).toBe('sha256:0123456789ab')
})

test('an image that cannot be pulled: the time runs out naming the pod reason', async () => {
  server.objects.apply(agentDeployment('ghcr.io/acme/gitops-agent:fail'))
  const pod = server.objects.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'gitops-agent-7d9f-x2x4q', namespace: NS, labels: LABELS },
    spec: { containers: [{ name: 'agent', image: 'ghcr.io/acme/gitops-agent:fail' }] },
  })
  const message = 'Back-off pulling image "ghcr.io/acme/gitops-agent:fail": ErrImagePull: not found'
  const put = await server.request(
    'PUT',
    `/api/v1/namespaces/${NS}/pods/${pod.metadata?.name}/status`,
    {
      body: {
        ...pod,
        status: {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'agent',
              ready: false,
              restartCount: 0,
              image: 'ghcr.io/acme/gitops-agent:fail',
              imageID: '',
              state: { waiting: { reason: 'ImagePullBackOff', message } },
            },
          ],
        },
      },
    },
  )
  expect(put.status).toBe(200)
  const started = Date.now()
  const result = await waitForAgent(client, options({ commit: 'a'.repeat(40), timeoutMs: 800 }))
  expect(Date.now() - started).toBeGreaterThanOrEqual(800)
  expect(result.ready).toBe(false)
  expect(result.reason).toContain('the Deployment gitops-system/gitops-agent has not rolled out')
  expect(result.reason).toContain(
    `pod gitops-agent-7d9f-x2x4q: container agent ImagePullBackOff: ${message}`,
  )
  expect(result.reason).toMatch(/^the agent is not ready after 1s: /)
})

test('a rollout past its progress deadline fails at once, with the crash loop behind it', async () => {
  await server.stop()
  server = await startKubeApiServer({
    namespaces: ['default', NS],
    rolloutDelayMs: 20,
    progressDeadlineMs: 100,
  })
  client.close()
  client = KubeClient.load(server.kubeconfigPath)
  server.objects.apply(agentDeployment('ghcr.io/acme/gitops-agent:fail'))
  const pod = server.objects.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'gitops-agent-1', namespace: NS, labels: LABELS },
    spec: { containers: [{ name: 'agent', image: 'ghcr.io/acme/gitops-agent:fail' }] },
  })
  await server.request('PUT', `/api/v1/namespaces/${NS}/pods/gitops-agent-1/status`, {
    body: {
      ...pod,
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'agent',
            ready: false,
            restartCount: 4,
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: 'back-off 1m20s restarting failed container=agent',
              },
            },
            lastState: { terminated: { exitCode: 2, reason: 'Error' } },
          },
        ],
      },
    },
  })
  const started = Date.now()
  const result = await waitForAgent(client, options({ timeoutMs: 20_000 }))
  expect(Date.now() - started).toBeLessThan(10_000)
  expect(result.ready).toBe(false)
  expect(result.reason).toMatch(/has not rolled out: ReplicaSet .* has timed out progressing/)
  expect(result.reason).toContain(
    'pod gitops-agent-1: container agent CrashLoopBackOff: back-off 1m20s restarting failed container=agent (last exit code 2 Error)',
  )
})

test('rolled out, but the agent recorded another commit: the time runs out with its last error', async () => {
  const remote = bareRemote()
  const first = pushFiles(remote, {
    'releases/staging/shop/configmap.yaml': configMap('shop', '1'),
  })
  server.objects.apply(agentDeployment('ghcr.io/acme/gitops-agent:v1.2.3'))
  expect(await syncOnce(remote)).toBe(0)
  // The next head breaks the unit: the agent keeps what it applied, records a SyncFailed Event.
  const head = pushFiles(remote, { 'releases/staging/shop/configmap.yaml': 'kind: [' })
  expect(await syncOnce(remote)).toBe(1)
  const result = await waitForAgent(client, options({ commit: head, timeoutMs: 600 }))
  expect(result.ready).toBe(false)
  expect(result.reason).toContain(
    `rolled out but no sync of ${head} yet (the agent's units are at ${first.slice(0, 12)};`,
  )
  expect(result.reason).toMatch(/the agent's last error: releases\/staging\/shop: .*failed/)
  // The commit it did sync is still found.
  expect((await waitForAgent(client, options({ commit: first }))).ready).toBe(true)
})

/** A pod of the agent's Deployment with the Ready condition a kubelet writes after /readyz said ok. */
async function readyAgentPod(name: string): Promise<void> {
  const pod = server.objects.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: LABELS },
    spec: { containers: [{ name: 'agent', image: 'ghcr.io/acme/gitops-agent:v1.2.3' }] },
  })
  const put = await server.request('PUT', `/api/v1/namespaces/${NS}/pods/${name}/status`, {
    body: {
      ...pod,
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: 'agent', ready: true, state: { running: {} } }],
      },
    },
  })
  expect(put.status).toBe(200)
}

test('a head that changed no unit: a Ready agent started after it was read has synced it', async () => {
  const remote = bareRemote()
  const first = pushFiles(remote, {
    'releases/staging/shop/configmap.yaml': configMap('shop', '1'),
  })
  server.objects.apply(agentDeployment('ghcr.io/acme/gitops-agent:v1.2.3'))
  expect(await syncOnce(remote)).toBe(0)
  await readyAgentPod('gitops-agent-old')
  await new Promise((r) => setTimeout(r, 1100))
  // The head moves outside the units; the install reads it, then restarts the agent.
  const head = pushFiles(remote, { 'clusters/production/settings.env': 'prune=true\n' })
  const since = new Date()
  await new Promise((r) => setTimeout(r, 1100))
  // The agent that ran before the head was read proves nothing.
  const stale = await waitForAgent(client, options({ commit: head, since, timeoutMs: 300 }))
  expect(stale.ready).toBe(false)
  expect(await syncOnce(remote)).toBe(0)
  // The restarted agent applied nothing (the unit did not change): its inventory is not at the head.
  expect((await waitForAgent(client, options({ commit: head, timeoutMs: 300 }))).ready).toBe(false)
  await readyAgentPod('gitops-agent-new')
  const result = await waitForAgent(client, options({ commit: head, since }))
  expect(result).toMatchObject({
    ready: true,
    syncedCommit: head,
    units: ['releases/staging/shop'],
  })
  // Its inventory still names the commit the unit was applied at.
  expect((await waitForAgent(client, options({ commit: first }))).ready).toBe(true)
})

test('without a commit, a Ready agent with no units is synced', async () => {
  server.objects.apply(agentDeployment('ghcr.io/acme/gitops-agent:v1.2.3'))
  await readyAgentPod('gitops-agent-1')
  const result = await waitForAgent(client, options({}))
  expect(result).toMatchObject({ ready: true, units: [] })
  expect(result.syncedCommit).toBeUndefined()
})

test('a deadline the replaced image passed does not fail the wait for the new one', async () => {
  await server.stop()
  server = await startKubeApiServer({
    namespaces: ['default', NS],
    // The controller takes its time: the wait's first looks see the old generation's status.
    rolloutDelayMs: 300,
    progressDeadlineMs: 50,
  })
  client.close()
  client = KubeClient.load(server.kubeconfigPath)
  const remote = bareRemote()
  const head = pushFiles(remote, { 'releases/staging/shop/configmap.yaml': configMap('shop', '1') })
  server.objects.apply(agentDeployment('ghcr.io/acme/gitops-agent:fail'))
  const deadlinePassed = () =>
    JSON.stringify(
      server.objects.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: NS,
        name: 'gitops-agent',
      })?.status,
    ).includes('ProgressDeadlineExceeded')
  while (!deadlinePassed()) await new Promise((r) => setTimeout(r, 20))
  // The install replaces the image; the wait starts before the controller has seen it.
  server.objects.apply(agentDeployment('ghcr.io/acme/gitops-agent:v1.2.4'))
  const waiting = waitForAgent(client, options({ commit: head }))
  expect(await syncOnce(remote)).toBe(0)
  expect(await waiting).toMatchObject({ ready: true, syncedCommit: head, agentVersion: 'v1.2.4' })
})
