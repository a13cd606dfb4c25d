// What the running agent tells the outside (dist/agent against the test API server and real git): health,
// readiness and Prometheus metrics on --listen; chat messages, Kubernetes Events and commit statuses on a
// unit's change of state, not on every cycle.
import { renameSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { AGENT_NS as NS, agentArgs as agentArgsFor, RunningAgent } from '../support/agent.js'
import { startGitHostApi, type GitHostApi } from '../support/git-host-api.js'
import { bareRemote, pushFiles, type Remote } from '../support/git.js'
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

const deployment = (image: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\n  namespace: apps\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: shop\n  template:\n    metadata:\n      labels:\n        app: shop\n    spec:\n      containers:\n        - name: app\n          image: ${image}\n`

/** The files of one release of `shop` in staging, as publish-release writes them. */
function shopRelease(version: string, sourceCommit: string, image = `acme/shop:${version}`) {
  return {
    'releases/staging/shop/namespace-apps.yaml':
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n',
    'releases/staging/shop/deployment-shop.yaml': deployment(image),
    'releases/staging/shop/configmap-shop.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n  namespace: apps\ndata:\n  version: "${version}"\n`,
    'releases/staging/shop/release.json': JSON.stringify({
      app: 'shop',
      env: 'staging',
      version,
      digest: `sha256:${version}`,
      objects: 3,
      sourceRepo: 'https://github.com/acme/shop',
      sourceCommit,
      releasedBy: 'alice',
      releasedAt: '2026-11-26T08:00:00Z',
    }),
  }
}
const sha = (n: number) => n.toString(16).padStart(40, 'a')

function agentArgs(remote: Remote, extra: string[]): string[] {
  return agentArgsFor(server, remote, ['--git-poll-interval', '200ms', ...extra])
}

async function until<T>(
  read: () => T | Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 20_000,
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

/** One sample's value from Prometheus text, e.g. `metric('x_total{action="applied"}')`. */
function metric(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line === undefined ? undefined : Number(line.slice(sample.length + 1))
}

test('--listen serves /healthz, /readyz and /metrics with what the syncs did', async () => {
  const remote = bareRemote()
  pushFiles(remote, shopRelease('1.0.0', sha(1)))
  const agent = new RunningAgent(agentArgs(remote, ['--listen', '127.0.0.1:0']))
  try {
    const port = (await agent.waitFor(/event=listening port=(\d+)/))[1]
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`)
      return { status: r.status, text: await r.text() }
    }
    expect((await get('/healthz')).status).toBe(200)
    await agent.waitFor(/event=sync unit=releases\/staging\/shop status=synced/)
    expect(
      (
        await until(
          () => get('/readyz'),
          (r) => r.status === 200,
        )
      ).text,
    ).toBe('ok\n')

    const after = await until(
      () => get('/metrics'),
      (r) => (metric(r.text, 'gitops_agent_objects_total{action="unchanged"}') ?? 0) >= 6,
    )
    expect(metric(after.text, 'gitops_agent_objects_total{action="applied"}')).toBe(3)
    expect(metric(after.text, 'gitops_agent_objects_total{action="pruned"}')).toBe(0)
    expect(metric(after.text, 'gitops_agent_unit_ready{unit="releases/staging/shop"}')).toBe(1)
    expect(metric(after.text, 'gitops_agent_remote_head_failures_total')).toBe(0)
    expect(metric(after.text, 'gitops_agent_sync_duration_seconds_count')).toBeGreaterThanOrEqual(3)
    const lastSuccess = metric(after.text, 'gitops_agent_last_sync_success_timestamp_seconds')!
    expect(Math.abs(lastSuccess - Date.now() / 1000)).toBeLessThan(30)
    expect(metric(after.text, 'process_resident_memory_bytes')).toBeGreaterThan(0)

    // The git host goes away: not ready, and the failures are counted; back again: ready.
    renameSync(remote.path, `${remote.path}.away`)
    const down = await until(
      () => get('/readyz'),
      (r) => r.status === 503,
    )
    expect(down.text).toMatch(/^not ready: the git remote failed: /)
    const failing = await get('/metrics')
    expect(metric(failing.text, 'gitops_agent_remote_head_failures_total')).toBeGreaterThanOrEqual(
      1,
    )
    renameSync(`${remote.path}.away`, remote.path)
    await until(
      () => get('/readyz'),
      (r) => r.status === 200,
    )
    expect((await get('/nope')).status).toBe(404)
  } finally {
    expect(await agent.stop()).toBe(0)
  }
}, 60_000)

/** A chat webhook receiver: every body posted, by path. */
async function webhookReceiver(): Promise<{
  url: string
  posts: { path: string; body: any }[]
  close(): Promise<void>
}> {
  const posts: { path: string; body: any }[] = []
  const srv: Server = createServer((req, res) => {
    let text = ''
    req.on('data', (d: Buffer) => (text += d.toString()))
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: JSON.parse(text) })
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    posts,
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  }
}

describe('on a change of state', () => {
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>
  let host: GitHostApi
  beforeEach(async () => {
    hooks = await webhookReceiver()
    host = await startGitHostApi('status-token-123')
  })
  afterEach(async () => {
    await hooks.close()
    await host.close()
  })

  test('one chat message, Event and status per change: released, failed (three times: once), recovered, unhealthy', async () => {
    const remote = bareRemote()
    const secretPath = '/services/T000/B000/s3cr3tW3bh00k'
    const dir = tempDir('gitops-secrets-')
    writeFileSync(
      join(dir, 'notify'),
      `# chat\nslack:${hooks.url}/slack${secretPath}\nteams:${hooks.url}/teams\n${hooks.url}/hook\n`,
    )
    writeFileSync(join(dir, 'token'), 'status-token-123\n')
    const gitops1 = pushFiles(remote, shopRelease('1.0.0', sha(1)))
    const agent = new RunningAgent(
      agentArgs(remote, [
        '--notify',
        `file:${join(dir, 'notify')}`,
        '--status-token',
        'env:STATUS_TOKEN',
        '--status-api-url',
        host.url,
        '--cluster-name',
        'eu-1',
        '--health-timeout',
        '1s',
      ]),
      { STATUS_TOKEN: 'status-token-123', POD_NAME: 'gitops-agent-7d9f-x2' },
    )
    const generic = () => hooks.posts.filter((p) => p.path === '/hook').map((p) => p.body)
    const settle = () =>
      until(
        () => hooks.posts.length,
        (n) => n % 3 === 0 && n > 0,
      )
    try {
      // 1. A release applied and healthy: one message on each webhook, statuses pending → success.
      await agent.waitFor(/event=sync unit=releases\/staging\/shop status=synced/)
      await settle()
      expect(hooks.posts.map((p) => p.path.split('/')[1]).sort()).toEqual([
        'hook',
        'slack',
        'teams',
      ])
      const slack = hooks.posts.find((p) => p.path.startsWith('/slack'))!.body
      expect(slack.text).toMatch(/shop 1\.0\.0 is applied and healthy in staging \(cluster eu-1\)/)
      expect(slack.text).toContain('released by alice')
      const teams = hooks.posts.find((p) => p.path === '/teams')!.body
      expect(teams.attachments[0].content.body[0].text).toContain('shop 1.0.0')
      expect(generic()[0]).toMatchObject({
        change: 'released',
        cluster: 'eu-1',
        env: 'staging',
        app: 'shop',
        version: '1.0.0',
        sourceCommit: sha(1),
        releasedBy: 'alice',
        gitopsCommit: gitops1,
      })
      const statusesOf = (commit: string) =>
        host.statuses
          .filter((s) => s.sha === commit && s.context === 'gitops/eu-1/staging/shop')
          .map((s) => s.state)
      await until(
        () => statusesOf(sha(1)),
        (s) => s.length === 2,
      )
      expect(statusesOf(sha(1))).toEqual(['pending', 'success'])
      expect(statusesOf(gitops1)).toEqual(['pending', 'success'])
      expect(host.statuses.find((s) => s.sha === sha(1))!.project).toBe('acme/shop')

      // 2. A broken release fails on every cycle: one message, however many cycles.
      pushFiles(remote, {
        ...shopRelease('1.1.0', sha(2)),
        'releases/staging/shop/configmap-shop.yaml': 'kind: ConfigMap\nmetadata: [unclosed\n',
      })
      await agent.waitFor(/event=sync unit=releases\/staging\/shop status=failed/, 3)
      await settle()
      expect(generic().map((b) => b.change)).toEqual(['released', 'failed'])
      expect(generic()[1].version).toBe('1.1.0')
      await until(
        () => statusesOf(sha(2)),
        (s) => s.length === 1,
      )
      expect(statusesOf(sha(2))).toEqual(['failure'])

      // 3. Fixed: a recovery, one more message.
      pushFiles(remote, shopRelease('1.2.0', sha(3)))
      await until(
        () => generic().length,
        (n) => n === 3,
      )
      expect(generic()[2]).toMatchObject({ change: 'recovered', version: '1.2.0' })

      // 4. A rollout that never becomes healthy: a failure, statuses pending → failure.
      pushFiles(remote, shopRelease('1.3.0', sha(4), 'acme/shop:fail'))
      await until(
        () => generic().length,
        (n) => n === 4,
        30_000,
      )
      expect(generic()[3]).toMatchObject({ change: 'failed', version: '1.3.0' })
      expect(generic()[3].error).toMatch(/unhealthy/)
      await until(
        () => statusesOf(sha(4)),
        (s) => s.length === 2,
      )
      expect(statusesOf(sha(4))).toEqual(['pending', 'failure'])
      await settle()
      expect(hooks.posts).toHaveLength(12)

      // Events on the agent's pod, one per change, in order.
      const events = server.objects
        .list('v1', 'Event', NS)
        .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1)) as any[]
      expect(events.map((e) => e.reason)).toEqual([
        'Synced',
        'SyncFailed',
        'Recovered',
        'SyncFailed',
      ])
      expect(events.map((e) => e.type)).toEqual(['Normal', 'Warning', 'Normal', 'Warning'])
      expect(events[0].involvedObject).toMatchObject({ kind: 'Pod', name: 'gitops-agent-7d9f-x2' })
      expect(events[0].message).toMatch(/^releases\/staging\/shop: shop 1\.0\.0 is applied/)
    } finally {
      expect(await agent.stop()).toBe(0)
    }
    // The webhook URL and the token are secrets: never in the logs.
    const output = agent.lines.join('\n')
    expect(output).not.toContain('s3cr3tW3bh00k')
    expect(output).not.toContain('status-token-123')
    expect(output).toMatch(/event=notify webhooks=slack@127\.0\.0\.1:\d+,teams@/)
  }, 120_000)

  test('GitLab statuses with --once; a secret given as a flag value is refused', async () => {
    const remote = bareRemote()
    const gitops = pushFiles(remote, shopRelease('2.0.0', sha(5)))
    const r = await runNode(
      'agent',
      agentArgs(remote, [
        '--once',
        '--status-token',
        'env:GITLAB_TOKEN',
        '--status-provider',
        'gitlab',
        '--status-api-url',
        `${host.url}/api/v4`,
      ]),
      { env: { GITLAB_TOKEN: 'status-token-123' } },
    )
    expect(r.code).toBe(0)
    const mine = host.statuses.filter((s) => s.context === 'gitops/default/staging/shop')
    expect(mine.filter((s) => s.sha === gitops).map((s) => s.state)).toEqual(['pending', 'success'])
    expect(mine.find((s) => s.sha === sha(5))).toMatchObject({ project: 'acme/shop' })

    const refused = await runNode(
      'agent',
      agentArgs(remote, ['--once', '--notify', 'https://hooks.slack.com/services/T/B/x']),
    )
    expect(refused.code).toBe(2)
    expect(refused.stdout + refused.stderr).toMatch(/--notify takes file:PATH or env:NAME/)
    const unset = await runNode(
      'agent',
      agentArgs(remote, ['--once', '--status-token', 'env:NOPE']),
    )
    expect(unset.code).toBe(2)
    expect(unset.stdout + unset.stderr).toMatch(/NOPE is empty or unset/)
  }, 60_000)
})

test('a webhook URL with user:pass@ and a token in its path or query is never logged, only its host', async () => {
  // One receiver answers 500 (and records the credentials it was sent), one port is closed.
  const received: { path: string; authorization?: string }[] = []
  const failing: Server = createServer((req, res) => {
    received.push({ path: req.url ?? '', authorization: req.headers.authorization })
    req.resume()
    req.on('end', () => res.writeHead(500).end('no'))
  })
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve))
  const closed: Server = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const closedPort = (closed.address() as AddressInfo).port
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  const port = (failing.address() as AddressInfo).port
  try {
    const remote = bareRemote()
    pushFiles(remote, shopRelease('1.0.0', sha(1)))
    const hooks = [
      `http://user:s3cret@127.0.0.1:${port}/hook/T0K3N?token=T0K3N`,
      `slack:http://user:s3cret@127.0.0.1:${closedPort}/hook/T0K3N`,
      `http://127.0.0.1:${closedPort}/services/T0K3N?sig=T0K3N`,
    ].join('\n')
    const r = await runNode('agent', agentArgs(remote, ['--once', '--notify', 'env:HOOKS']), {
      env: { HOOKS: hooks, GITOPS_DEBUG: 'true' },
    })
    const output = r.stdout + r.stderr
    expect(r.code).toBe(0)
    // Each webhook was tried and its failure logged, by host only.
    expect(output).toMatch(
      new RegExp(`event=notify-error kind=webhook host=127\\.0\\.0\\.1:${port} `),
    )
    expect(output).toMatch(
      new RegExp(`event=notify-error kind=slack host=127\\.0\\.0\\.1:${closedPort} `),
    )
    expect(output).toMatch(/HTTP 500/)
    expect(output).not.toContain('s3cret')
    expect(output).not.toContain('T0K3N')
    expect(output).not.toContain('user:')
    // The credentials still reach the receiver, as a Basic login, not in the URL.
    expect(received).toEqual([
      {
        path: '/hook/T0K3N?token=T0K3N',
        authorization: `Basic ${Buffer.from('user:s3cret').toString('base64')}`,
      },
    ])
  } finally {
    await new Promise<void>((resolve) => failing.close(() => resolve()))
  }
}, 60_000)
