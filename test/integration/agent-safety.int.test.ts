// The sync agent (dist/agent) when things go wrong around it or in git: the API server failing or gone
// (a running agent never exits, --once exits 1 in bounded time), objects in git that would take over the
// agent's own state, a unit that suddenly declares nothing, commit ids that are not commit ids, and bytes
// that are not UTF-8.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, Socket, type Server } from 'node:net'
import { join } from 'node:path'
import { AGENT_NS as NS, agentArgs, RunningAgent } from '../support/agent.js'
import { startGitHostApi, type GitHostApi } from '../support/git-host-api.js'
import { bareRemote, git, pushFiles, type Remote } from '../support/git.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { runNode } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: KubeApiServer

beforeEach(async () => {
  server = await startKubeApiServer({
    namespaces: ['default', NS],
    rolloutDelayMs: 20,
    progressDeadlineMs: 300,
  })
})
afterEach(async () => {
  await server.stop()
})
afterAll(cleanupTempDirs)

const cm = (name: string, data: Record<string, string>, namespace?: string, labels = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}${labels ? `  labels:\n${labels}` : ''}data:\n${Object.entries(
    data,
  )
    .map(([k, v]) => `  ${k}: "${v}"\n`)
    .join('')}`

const once = (remote: Remote, extra: string[] = [], work = tempDir('gitops-agent-')) =>
  runNode('agent', agentArgs(server, remote, ['--once', '--health-timeout', '10s', ...extra], work))

const configMaps = (namespace: string) =>
  server.objects
    .list('v1', 'ConfigMap', namespace)
    .map((c) => c.metadata?.name)
    .filter((n) => !n?.startsWith('gitops-unit-'))
    .sort()

async function until<T>(
  read: () => T | Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = await read()
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    last = await read()
  }
  if (!ok(last)) throw new Error(`condition not met; last value: ${JSON.stringify(last)}`)
  return last
}

/** A TCP relay to the API server that can be shut (connection refused) and opened again on its port. */
async function relay(target: KubeApiServer) {
  const targetPort = Number(new URL(target.url).port)
  const sockets = new Set<Socket>()
  let listener: Server | undefined
  let port = 0
  const open = async () => {
    listener = createServer((client) => {
      const upstream = new Socket()
      sockets.add(client).add(upstream)
      for (const s of [client, upstream])
        s.on('close', () => sockets.delete(s)).on('error', () => {})
      upstream.connect(targetPort, '127.0.0.1', () => client.pipe(upstream).pipe(client))
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve) => listener!.listen(port, '127.0.0.1', () => resolve()))
    port = (listener.address() as { port: number }).port
  }
  await open()
  const kubeconfig = join(tempDir('relay-'), 'kubeconfig')
  writeFileSync(
    kubeconfig,
    readFileSync(target.kubeconfigPath, 'utf8').replace(
      `127.0.0.1:${targetPort}`,
      `127.0.0.1:${port}`,
    ),
  )
  return {
    kubeconfig,
    open,
    async shut() {
      await new Promise<void>((resolve) => {
        listener!.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
    },
  }
}

function release(extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    app: 'shop',
    env: 'staging',
    version: '1.0.0',
    digest: 'sha256:1',
    objects: 1,
    releasedAt: '2026-11-26T08:00:00Z',
    ...extra,
  })
}

describe('the API server failing or gone', () => {
  test('answering 503 to everything for 5 s from the start: the agent logs it, is not ready, then syncs and turns ready', async () => {
    const remote = bareRemote()
    pushFiles(remote, { 'releases/staging/shop/configmap.yaml': cm('shop', { a: '1' }) })
    const remove = server.faults.add({ errorRate: 1, errorCode: 503 })
    const agent = new RunningAgent(
      agentArgs(server, remote, ['--git-poll-interval', '200ms', '--listen', '127.0.0.1:0']),
    )
    try {
      const port = (await agent.waitFor(/event=listening port=(\d+)/))[1]
      const readyz = async () => {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`)
        return { status: r.status, text: await r.text() }
      }
      await agent.waitFor(/event=api-error .*ServiceUnavailable|503/)
      const down = await readyz()
      expect(down.status).toBe(503)
      expect(down.text).toMatch(/^not ready: .*API server/)
      await new Promise((r) => setTimeout(r, 5000))
      remove()
      await agent.waitFor(/event=sync unit=releases\/staging\/shop status=synced/, 1, 40_000)
      await until(readyz, (r) => r.status === 200)
      expect(
        server.objects.get({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'shop',
          namespace: 'default',
        }),
      ).toBeDefined()
    } finally {
      expect(await agent.stop()).toBe(0)
    }
    expect(agent.output).not.toMatch(/event=done/)
  }, 90_000)

  test('gone (connection refused) for a few seconds and back on the same port: the agent goes on and syncs what changed meanwhile', async () => {
    const remote = bareRemote()
    pushFiles(remote, { 'releases/staging/shop/configmap.yaml': cm('shop', { a: '1' }) })
    const proxy = await relay(server)
    const args = agentArgs(server, remote, ['--git-poll-interval', '200ms'])
    args[args.indexOf('--kubeconfig') + 1] = proxy.kubeconfig
    const agent = new RunningAgent(args)
    try {
      await agent.waitFor(/event=sync unit=releases\/staging\/shop status=synced/)
      await proxy.shut()
      pushFiles(remote, { 'releases/staging/shop/configmap.yaml': cm('shop', { a: '2' }) })
      await agent.waitFor(/ECONNREFUSED|cannot reach the API server/, 2)
      await new Promise((r) => setTimeout(r, 3000))
      await proxy.open()
      await until(
        () =>
          server.objects.get({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'shop',
            namespace: 'default',
          })?.data?.a,
        (a) => a === '2',
      )
    } finally {
      await proxy.shut()
      expect(await agent.stop()).toBe(0)
    }
  }, 90_000)

  test('SIGTERM while backing off stops the agent at once', async () => {
    const remote = bareRemote()
    pushFiles(remote, { 'releases/staging/shop/configmap.yaml': cm('shop', { a: '1' }) })
    server.faults.add({ errorRate: 1, errorCode: 503 })
    const agent = new RunningAgent(agentArgs(server, remote, ['--git-poll-interval', '60s']))
    await agent.waitFor(/event=api-error/, 3, 40_000)
    const started = Date.now()
    expect(await agent.stop()).toBe(0)
    expect(Date.now() - started).toBeLessThan(3000)
  }, 60_000)

  test('--once with the API server down exits 1 in bounded time', async () => {
    const remote = bareRemote()
    pushFiles(remote, { 'releases/staging/shop/configmap.yaml': cm('shop', { a: '1' }) })
    server.faults.add({ errorRate: 1, errorCode: 503 })
    const started = Date.now()
    const r = await once(remote)
    expect(r.code).toBe(1)
    expect(Date.now() - started).toBeLessThan(20_000)
    const proxy = await relay(server)
    await proxy.shut()
    const args = agentArgs(server, remote, ['--once'])
    args[args.indexOf('--kubeconfig') + 1] = proxy.kubeconfig
    const refused = await runNode('agent', args)
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(/ECONNREFUSED|cannot reach the API server/)
  }, 60_000)
})

test("objects in git that are the agent's own state fail their unit, named, and nothing of that unit is applied", async () => {
  const remote = bareRemote()
  const inventoryLike = 'gitops-unit-0123456789abcdef'
  pushFiles(remote, {
    'releases/staging/lease/lease.yaml': `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: gitops-agent\n  namespace: ${NS}\nspec:\n  holderIdentity: intruder\n  leaseDurationSeconds: 3600\n`,
    'releases/staging/lease/configmap.yaml': cm('lease-app', { a: '1' }),
    // No namespace: --default-namespace is the agent's own.
    'releases/staging/inventory/configmap.yaml': cm(inventoryLike, { objects: '[]' }),
    'releases/staging/inventory/other.yaml': cm('inventory-app', { a: '1' }, 'default'),
    'releases/staging/labelled/configmap.yaml': cm(
      'looks-like-one',
      { a: '1' },
      'default',
      `    gitops-actions.dev/inventory: "true"\n`,
    ),
    'releases/staging/foreign/configmap.yaml': cm(
      'foreign',
      { a: '1' },
      'default',
      `    gitops-actions.dev/agent: someone-else\n`,
    ),
    'releases/staging/fine/configmap.yaml': cm('fine', { a: '1' }, 'default'),
  })
  const r = await once(remote, ['--default-namespace', NS])
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/lease status=failed .*Lease gitops-system\/gitops-agent is the agent's own/,
  )
  expect(r.stdout).toMatch(
    new RegExp(
      `unit=releases/staging/inventory status=failed .*ConfigMap gitops-system/${inventoryLike} .*inventor`,
    ),
  )
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/labelled status=failed .*ConfigMap default\/looks-like-one .*gitops-actions\.dev\/inventory/,
  )
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/foreign status=failed .*ConfigMap default\/foreign .*gitops-actions\.dev\/agent/,
  )
  expect(r.stdout).toMatch(/unit=releases\/staging\/fine status=synced/)
  expect(r.code).toBe(1)
  expect(configMaps('default')).toEqual(['fine'])
  expect(configMaps(NS)).toEqual([])
  expect(
    server.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', name: inventoryLike, namespace: NS }),
  ).toBeUndefined()
  const lease = server.objects.get({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    name: 'gitops-agent',
    namespace: NS,
  })
  expect(lease?.spec?.holderIdentity).not.toBe('intruder')
  // The next run is not locked out.
  const again = await once(remote, ['--default-namespace', NS])
  expect(again.stdout).toMatch(/unit=releases\/staging\/fine status=unchanged/)
}, 60_000)

describe('a unit that had objects and now declares none', () => {
  test('emptied to ---: it fails, its objects are kept, even with garbage collection on', async () => {
    const remote = bareRemote()
    pushFiles(remote, {
      'releases/staging/shop/a.yaml': cm('a', { a: '1' }),
      'releases/staging/shop/b.yaml': cm('b', { b: '1' }),
      'releases/staging/shop/release.json': release(),
    })
    const work = tempDir('gitops-agent-')
    expect((await once(remote, ['--sync-garbage-collection'], work)).code).toBe(0)
    expect(configMaps('default')).toEqual(['a', 'b'])
    pushFiles(remote, {
      'releases/staging/shop/a.yaml': '---\n',
      'releases/staging/shop/b.yaml': '---\n',
    })
    const r = await once(remote, ['--sync-garbage-collection'], work)
    expect(r.stdout).toMatch(
      /unit=releases\/staging\/shop status=failed .*holds no objects.*its 2 objects are kept.*retire: true/,
    )
    expect(r.code).toBe(1)
    expect(configMaps('default')).toEqual(['a', 'b'])
    expect(server.requests.count('DELETE')).toBe(0)

    // Retired on purpose: pruned.
    pushFiles(remote, { 'releases/staging/shop/release.json': release({ retired: true }) })
    const retired = await once(remote, ['--sync-garbage-collection'], work)
    expect(retired.stdout).toMatch(/unit=releases\/staging\/shop status=pruned/)
    expect(configMaps('default')).toEqual([])
  }, 60_000)

  test('only a kustomization.yaml while --manifest-generation is off: it fails naming the flag, nothing is pruned', async () => {
    const remote = bareRemote()
    pushFiles(remote, {
      'releases/staging/shop/a.yaml': cm('a', { a: '1' }),
      'releases/staging/shop/b.yaml': cm('b', { b: '1' }),
    })
    const work = tempDir('gitops-agent-')
    expect((await once(remote, ['--sync-garbage-collection'], work)).code).toBe(0)
    pushFiles(remote, {
      'releases/staging/shop/a.yaml': null,
      'releases/staging/shop/b.yaml': null,
      'releases/staging/shop/kustomization.yaml': 'resources:\n  - ../../../bases/shop\n',
      'bases/shop/kustomization.yaml': 'resources:\n  - a.yaml\n',
      'bases/shop/a.yaml': cm('a', { a: '1' }),
    })
    const r = await once(remote, ['--sync-garbage-collection'], work)
    expect(r.stdout).toMatch(
      /unit=releases\/staging\/shop status=failed .*kustomization\.yaml.*--manifest-generation/,
    )
    expect(r.code).toBe(1)
    expect(configMaps('default')).toEqual(['a', 'b'])
    expect(server.requests.count('DELETE')).toBe(0)
  }, 60_000)
})

test('a release.json that says retired while the unit still declares objects fails; nothing is pruned or forgotten', async () => {
  const remote = bareRemote()
  pushFiles(remote, {
    'releases/staging/shop/a.yaml': cm('a', { a: '1' }),
    'releases/staging/shop/release.json': release(),
  })
  const work = tempDir('gitops-agent-')
  expect((await once(remote, ['--sync-garbage-collection'], work)).code).toBe(0)
  pushFiles(remote, { 'releases/staging/shop/release.json': release({ retired: true }) })
  const r = await once(remote, ['--sync-garbage-collection'], work)
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/shop status=failed .*says the app is retired, but the unit still declares 1 objects/,
  )
  expect(r.code).toBe(1)
  expect(configMaps('default')).toEqual(['a'])
  // The inventory still knows the object: retiring properly afterwards prunes it.
  pushFiles(remote, { 'releases/staging/shop/a.yaml': null })
  const retired = await once(remote, ['--sync-garbage-collection'], work)
  expect(retired.stdout).toMatch(/unit=releases\/staging\/shop status=pruned .*pruned=1/)
  expect(configMaps('default')).toEqual([])
}, 60_000)

test("the agent's own namespace, declared in git and then removed, is never pruned, whatever its annotations say", async () => {
  const remote = bareRemote()
  pushFiles(remote, {
    'releases/staging/shop/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n  annotations:\n    gitops-actions.dev/prune: allow\n`,
    'releases/staging/shop/a.yaml': cm('a', { a: '1' }),
  })
  const work = tempDir('gitops-agent-')
  expect((await once(remote, ['--sync-garbage-collection'], work)).code).toBe(0)
  pushFiles(remote, { 'releases/staging/shop/ns.yaml': null })
  const r = await once(remote, ['--sync-garbage-collection'], work)
  expect(r.stdout).toMatch(
    new RegExp(
      `event=prune-skipped unit=releases/staging/shop Namespace/${NS}: the agent's own namespace is never pruned`,
    ),
  )
  expect(server.objects.list('v1', 'Namespace').map((n) => n.metadata?.name)).toContain(NS)
  expect(server.requests.all().filter((q) => q.method === 'DELETE')).toEqual([])
}, 60_000)

describe('commit statuses', () => {
  let host: GitHostApi
  beforeEach(async () => {
    host = await startGitHostApi('status-token-123')
  })
  afterEach(async () => {
    await host.close()
  })

  const statusArgs = (provider: 'gitlab' | 'github') => [
    '--status-token',
    'env:STATUS_TOKEN',
    '--status-provider',
    provider,
    '--status-api-url',
    provider === 'gitlab' ? `${host.url}/api/v4` : host.url,
  ]

  test('GitLab: a source commit that is not a commit id is never sent; only the status routes are called', async () => {
    const remote = bareRemote()
    const evil = '../../../../groups/7/variables?key=X&x='
    const gitops = pushFiles(remote, {
      'releases/staging/shop/configmap.yaml': cm('shop', { a: '1' }, 'default'),
      'releases/staging/shop/release.json': release({
        sourceRepo: 'https://gitlab.com/acme/shop',
        sourceCommit: evil,
      }),
    })
    const run = await runNode(
      'agent',
      agentArgs(server, remote, ['--once', ...statusArgs('gitlab')]),
      { env: { STATUS_TOKEN: 'status-token-123' } },
    )
    expect(run.code).toBe(0)
    expect(host.requests.length).toBeGreaterThan(0)
    for (const req of host.requests)
      expect(`${req.method} ${req.path}`).toMatch(
        /^POST \/api\/v4\/projects\/[^/]+\/statuses\/[0-9a-f]{40}$/,
      )
    expect(host.statuses.map((s) => s.sha)).toEqual([gitops, gitops])
    expect(run.stdout).toMatch(/unit=releases\/staging\/shop.*source commit.*not a commit id/)
    expect(run.stdout).not.toContain('groups/7')

    // A good one still goes out.
    const good = 'c0ffee'.padEnd(40, '1')
    pushFiles(remote, {
      'releases/staging/shop/configmap.yaml': cm('shop', { a: '2' }, 'default'),
      'releases/staging/shop/release.json': release({
        version: '1.0.1',
        sourceRepo: 'https://gitlab.com/acme/shop',
        sourceCommit: good,
      }),
    })
    const next = await runNode(
      'agent',
      agentArgs(server, remote, ['--once', ...statusArgs('gitlab')]),
      { env: { STATUS_TOKEN: 'status-token-123' } },
    )
    expect(next.code).toBe(0)
    expect(host.statuses.filter((s) => s.sha === good).map((s) => s.state)).toEqual([
      'pending',
      'success',
    ])
  }, 60_000)

  test('GitHub: a source repository of dot segments is not sent either', async () => {
    const remote = bareRemote()
    pushFiles(remote, {
      'releases/staging/shop/configmap.yaml': cm('shop', { a: '1' }, 'default'),
      'releases/staging/shop/release.json': release({
        sourceRepo: 'https://github.com/../..',
        sourceCommit: 'a'.repeat(40),
      }),
    })
    const run = await runNode(
      'agent',
      agentArgs(server, remote, ['--once', ...statusArgs('github')]),
      { env: { STATUS_TOKEN: 'status-token-123' } },
    )
    expect(run.code).toBe(0)
    for (const req of host.requests)
      expect(`${req.method} ${req.path}`).toMatch(
        /^POST \/repos\/(?!\.\.?\/)[^/]+\/(?!\.\.?\/)[^/]+\/statuses\/[0-9a-f]{40}$/,
      )
    expect(host.statuses.find((s) => s.sha === 'a'.repeat(40))).toBeUndefined()
  }, 60_000)
})

test('a manifest that is not UTF-8 fails its unit naming the file; nothing of the unit is applied', async () => {
  const remote = bareRemote()
  pushFiles(remote, {
    'releases/staging/shop/good.yaml': cm('good', { a: '1' }, 'default'),
    'releases/staging/other/configmap.yaml': cm('other', { a: '1' }, 'default'),
  })
  // A Latin-1 é (0xE9) in a value, pushed as raw bytes.
  const work = join(tempDir('gitops-push-'), 'w')
  git(tempDir(), 'clone', '--quiet', remote.url, work)
  mkdirSync(join(work, 'releases/staging/shop'), { recursive: true })
  writeFileSync(
    join(work, 'releases/staging/shop/latin1.yaml'),
    Buffer.concat([
      Buffer.from(cm('latin1', { a: 'caf' }, 'default').replace('"caf"', '"caf')),
      Buffer.from([0xe9]),
      Buffer.from('"\n'),
    ]),
  )
  git(work, 'add', '--all')
  git(work, 'commit', '--quiet', '-m', 'latin-1')
  git(work, 'push', '--quiet', 'origin', 'HEAD:main')
  const r = await once(remote)
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/shop status=failed .*releases\/staging\/shop\/latin1\.yaml.*UTF-8/,
  )
  expect(r.stdout).toMatch(/unit=releases\/staging\/other status=synced/)
  expect(r.code).toBe(1)
  expect(configMaps('default')).toEqual(['other'])
}, 60_000)
