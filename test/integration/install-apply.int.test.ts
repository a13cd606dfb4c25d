/**
 * install-agent's apply against the project's test API server, with the objects the real kustomize
 * renders from deploy/base: the first install creates everything in order (Namespace and RBAC first),
 * the second changes nothing, an object dropped from the set is pruned while nothing without the
 * install's label is, and a refused right or an unreachable server stops the install with an error that
 * names the object and what to fix, leaving what a re-run repairs.
 */
import { createServer } from 'node:net'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { applyInstall, InstallApplyError, type InstallChange } from '../../src/lib/install/apply.js'
import { agentObjects, type AgentManifestOptions } from '../../src/lib/install/manifests.js'
import type { AgentSecretValues } from '../../src/lib/install/secrets.js'
import { KubeClient } from '../../src/lib/kube/client.js'
import { resolveKustomize } from '../../src/lib/kustomize/kustomize.js'
import { silentLogger } from '../../src/lib/log.js'
import type { KubeObject } from '../../src/lib/manifests/yaml.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { kubectl } from '../support/paths.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

const kustomize = resolveKustomize(kubectl)
const OPTIONS: AgentManifestOptions = {
  image: 'registry.example.com/platform/gitops-agent:1.2.3',
  namespace: 'agents',
  repository: 'git@github.com:acme/gitops.git',
  branch: 'main',
  paths: ['releases/staging'],
  clusterName: 'staging',
}
const SECRETS: AgentSecretValues = {
  identity:
    '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n',
  knownHosts:
    'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
  notify: 'https://hooks.example.com/x',
}

const render = (options: Partial<AgentManifestOptions> = {}, secrets = SECRETS) =>
  agentObjects({ ...OPTIONS, ...options }, secrets, { log: silentLogger, kustomize })
const summary = (changes: InstallChange[]) =>
  changes.map((c) => `${c.action} ${c.ref.kind}/${c.ref.name}`)

/** Waits until the workload controller has written the rollouts it owes (it bumps resourceVersions). */
async function settled(server: KubeApiServer): Promise<void> {
  for (let i = 0; server.controllerBusy && i < 500; i++) await new Promise((r) => setTimeout(r, 10))
}

let server: KubeApiServer
let client: KubeClient
let objects: KubeObject[]

beforeAll(async () => {
  server = await startKubeApiServer()
  client = KubeClient.load(server.kubeconfigPath)
  objects = await render()
})
afterAll(async () => {
  client.close()
  await server.stop()
  cleanupTempDirs()
})

const ORDER = [
  'created Namespace/agents',
  'created ServiceAccount/gitops-agent',
  'created ClusterRole/gitops-agent-agents',
  'created ClusterRoleBinding/gitops-agent-agents',
  'created Role/gitops-agent',
  'created RoleBinding/gitops-agent',
  'created Secret/gitops-agent-notify',
  'created Secret/gitops-agent-ssh',
  'created Service/gitops-agent',
  'created Deployment/gitops-agent',
]

describe('installs in turn on one cluster', () => {
  test('the first creates everything: Namespace and RBAC first, the Deployment last', async () => {
    server.requests.reset()
    const changes = await applyInstall(client, objects, { namespace: 'agents', log: silentLogger })
    // Secrets and the Service keep the order kustomize and the install gave them.
    expect(summary(changes).sort()).toEqual([...ORDER].sort())
    expect(summary(changes).slice(0, 6)).toEqual(ORDER.slice(0, 6))
    expect(summary(changes).at(-1)).toBe('created Deployment/gitops-agent')
    const patched = server.requests
      .all()
      .filter((r) => r.method === 'PATCH')
      .map((r) => r.path.split('/').at(-2))
    expect(patched.slice(0, 6)).toEqual([
      'namespaces',
      'serviceaccounts',
      'clusterroles',
      'clusterrolebindings',
      'roles',
      'rolebindings',
    ])
    expect(patched.at(-1)).toBe('deployments')
    expect(
      server.requests
        .all()
        .every((r) => r.method !== 'PATCH' || /fieldManager=gitops-install/.test(r.query)),
    ).toBe(true)

    const deployment = server.objects.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'agents',
      name: 'gitops-agent',
    })
    expect(deployment?.spec.template.spec.containers[0].image).toBe(OPTIONS.image)
    expect(deployment?.metadata?.managedFields?.map((f) => f.manager)).toContain('gitops-install')
    const ssh = server.objects.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'agents',
      name: 'gitops-agent-ssh',
    })
    expect(Buffer.from(ssh?.data.identity as string, 'base64').toString()).toBe(SECRETS.identity)
  })

  test('the second changes nothing', async () => {
    await settled(server)
    const version = server.objects.resourceVersion()
    const changes = await applyInstall(client, await render(), {
      namespace: 'agents',
      log: silentLogger,
    })
    expect(changes).toHaveLength(ORDER.length)
    expect(new Set(changes.map((c) => c.action))).toEqual(new Set(['unchanged']))
    expect(server.objects.resourceVersion()).toBe(version)
  })

  test('a dry run of a new image says what would change and writes nothing', async () => {
    await settled(server)
    const version = server.objects.resourceVersion()
    const changes = await applyInstall(
      client,
      await render({ image: 'registry.example.com/platform/gitops-agent:1.3.0' }, SECRETS),
      { namespace: 'agents', log: silentLogger, dryRun: true },
    )
    expect(summary(changes).filter((c) => !c.startsWith('unchanged'))).toEqual([
      'configured Deployment/gitops-agent',
    ])
    expect(server.objects.resourceVersion()).toBe(version)
  })

  test("what the set no longer has is pruned; nothing without the install's label is", async () => {
    const theirs = (name: string, labels: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'agents', labels },
      data: { a: '1' },
    })
    // Someone else's, in the install's namespace; and one another install (into `other`) made.
    server.objects.apply(theirs('unlabelled', { 'app.kubernetes.io/name': 'gitops-agent' }))
    server.objects.apply(
      theirs('other-install', {
        'app.kubernetes.io/managed-by': 'gitops-install',
        'gitops-actions.dev/install': 'other',
      }),
    )
    const { notify: _notify, ...withoutNotify } = SECRETS
    const changes = await applyInstall(client, await render({}, withoutNotify), {
      namespace: 'agents',
      log: silentLogger,
    })
    expect(summary(changes).filter((c) => !c.startsWith('unchanged'))).toEqual([
      'configured Deployment/gitops-agent',
      'pruned Secret/gitops-agent-notify',
    ])
    const get = (kind: string, name: string) =>
      server.objects.get({ apiVersion: 'v1', kind, namespace: 'agents', name })
    expect(get('Secret', 'gitops-agent-notify')).toBeUndefined()
    expect(get('Secret', 'gitops-agent-ssh')).toBeDefined()
    expect(get('ConfigMap', 'unlabelled')).toBeDefined()
    expect(get('ConfigMap', 'other-install')).toBeDefined()

    // A labelled object the set never had (an earlier version's) goes too; a dry run only says so.
    server.objects.apply(
      theirs('old-settings', {
        'app.kubernetes.io/managed-by': 'gitops-install',
        'gitops-actions.dev/install': 'agents',
      }),
    )
    const dry = await applyInstall(client, await render({}, withoutNotify), {
      namespace: 'agents',
      log: silentLogger,
      dryRun: true,
    })
    expect(summary(dry).filter((c) => !c.startsWith('unchanged'))).toEqual([
      'pruned ConfigMap/old-settings',
    ])
    expect(get('ConfigMap', 'old-settings')).toBeDefined()
    await applyInstall(client, await render({}, withoutNotify), {
      namespace: 'agents',
      log: silentLogger,
    })
    expect(get('ConfigMap', 'old-settings')).toBeUndefined()
  })

  test('objects without the install label are refused before anything is sent', async () => {
    server.requests.reset()
    const error = await applyInstall(client, objects, { namespace: 'elsewhere', log: silentLogger })
      .then(() => undefined)
      .catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/lack the install's labels/)
    expect(server.requests.all()).toHaveLength(0)
  })
})

describe('refused rights', () => {
  let fresh: KubeApiServer
  let freshClient: KubeClient
  beforeEach(async () => {
    fresh = await startKubeApiServer()
    freshClient = KubeClient.load(fresh.kubeconfigPath)
  })
  afterEach(async () => {
    freshClient.close()
    await fresh.stop()
  })

  test('a 403 on the ClusterRole names it and the right, stops there, and a re-run repairs', async () => {
    const removeFault = fresh.faults.add({
      method: 'PATCH',
      path: /\/clusterroles\//,
      errorRate: 1,
      errorCode: 403,
    })
    const error = await applyInstall(freshClient, objects, {
      namespace: 'agents',
      log: silentLogger,
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InstallApplyError)
    const message = (error as InstallApplyError).message
    expect(message).toMatch(/^install: may not apply ClusterRole\/gitops-agent-agents: /)
    expect(message).toContain(
      `lacks the right to get, create and patch clusterroles (API group "rbac.authorization.k8s.io") cluster-wide`,
    )
    expect(message).toContain('escalate')
    expect(message).toMatch(/nothing after it was attempted \(2 objects done before it\)/)
    expect(message).toContain('cannot patch resource "clusterroles"')
    expect(summary((error as InstallApplyError).changes)).toEqual(ORDER.slice(0, 2))
    // Nothing after the ClusterRole was sent.
    expect(
      fresh.requests.count('PATCH', /rolebindings|\/roles\/|secrets|services|deployments/),
    ).toBe(0)
    expect(fresh.requests.count('DELETE')).toBe(0)

    removeFault()
    const changes = await applyInstall(freshClient, objects, {
      namespace: 'agents',
      log: silentLogger,
    })
    expect(summary(changes).slice(0, 2)).toEqual([
      'unchanged Namespace/agents',
      'unchanged ServiceAccount/gitops-agent',
    ])
    expect(
      summary(changes)
        .slice(2)
        .every((c) => c.startsWith('created')),
    ).toBe(true)
  })

  test('a 403 on listing what an earlier install left names the list right, in the namespace', async () => {
    await applyInstall(freshClient, objects, { namespace: 'agents', log: silentLogger })
    fresh.faults.add({
      method: 'GET',
      path: /\/namespaces\/agents\/secrets\?/,
      errorRate: 1,
      errorCode: 403,
    })
    const error = await applyInstall(freshClient, objects, {
      namespace: 'agents',
      log: silentLogger,
    }).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(
      /^install: may not list Secret objects \(to find what an earlier install left\): the kubeconfig's user lacks the right to list secrets \(API group ""\) in the namespace agents\./,
    )
    expect(fresh.requests.count('DELETE')).toBe(0)
  })

  test('a 403 on the Namespace sends nothing else', async () => {
    fresh.faults.add({
      method: 'PATCH',
      path: /\/namespaces\/agents\?/,
      errorRate: 1,
      errorCode: 403,
    })
    const error = await applyInstall(freshClient, objects, {
      namespace: 'agents',
      log: silentLogger,
    }).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(
      /^install: may not apply Namespace\/agents: the kubeconfig's user lacks the right to get, create and patch namespaces \(API group ""\) cluster-wide\./,
    )
    expect((error as InstallApplyError).changes).toEqual([])
    expect(fresh.requests.count('PATCH')).toBe(1)
  })
})

test('an API server that cannot be reached is named, with what to check', async () => {
  // A port that was just free: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
  const kubeconfig = join(tempDir('install-kubeconfig-'), 'config')
  writeFileSync(
    kubeconfig,
    readFileSync(server.kubeconfigPath, 'utf8').replace(
      /server: .*/,
      `server: https://127.0.0.1:${port}`,
    ),
  )
  const unreachable = KubeClient.load(kubeconfig)
  const error = await applyInstall(unreachable, objects, {
    namespace: 'agents',
    log: silentLogger,
  }).catch((e: unknown) => e)
  unreachable.close()
  expect(error).toBeInstanceOf(InstallApplyError)
  expect((error as Error).message).toMatch(
    new RegExp(
      `^install: cannot apply Namespace/agents: .*cannot reach the API server at https://127.0.0.1:${port}.*Check the kubeconfig`,
    ),
  )
})
