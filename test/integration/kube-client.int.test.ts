// The agent's Kubernetes client against the test API server: kubeconfig forms (token, token file, exec
// plugin, merged KUBECONFIG), a server behind a path, errors that say what failed, and lists read in pages.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { stringify } from 'yaml'
import { KubeClient, KubeError } from '../../src/lib/kube/client.js'
import { loadConnection } from '../../src/lib/kube/kubeconfig.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: KubeApiServer
beforeAll(async () => {
  server = await startKubeApiServer({ requireToken: true, namespaces: ['default', 'apps'] })
})
afterAll(async () => {
  await server.stop()
  cleanupTempDirs()
})

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[]
  users: { name: string; user: Record<string, unknown> }[]
  contexts: unknown[]
  'current-context': string
}

/** The test server's kubeconfig with its user replaced, written to a new file. */
function kubeconfigWith(user: Record<string, unknown>, dir = tempDir('kubeconfig-')): string {
  const config = load(readFileSync(server.kubeconfigPath, 'utf8')) as Kubeconfig
  config.users[0].user = user
  const path = join(dir, 'config')
  writeFileSync(path, stringify(config))
  return path
}

const cm = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps', labels: { batch: 'x' } },
  data: { a: '1' },
})

test('token, token file (relative to the kubeconfig) and a wrong token', async () => {
  const withToken = KubeClient.load(kubeconfigWith({ token: server.token }))
  await withToken.apply(cm('one'), { fieldManager: 't', force: true })
  expect(
    await withToken.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'one', namespace: 'apps' }),
  ).toMatchObject({ data: { a: '1' } })

  const dir = tempDir('kubeconfig-')
  writeFileSync(join(dir, 'token'), `${server.token}\n`)
  const withFile = KubeClient.load(kubeconfigWith({ tokenFile: 'token' }, dir))
  expect(await withFile.isNamespaced('v1', 'ConfigMap')).toBe(true)

  const wrong = KubeClient.load(kubeconfigWith({ token: 'nope' }))
  const error = await wrong.isNamespaced('apps/v1', 'Deployment').catch((e: unknown) => e)
  expect(error).toBeInstanceOf(KubeError)
  expect((error as KubeError).code).toBe(401)
  expect((error as KubeError).message).toMatch(/^discover apps\/v1: .*\(401 Unauthorized\)$/)
  for (const c of [withToken, withFile, wrong]) c.close()
})

test('an exec credential plugin: run once, its token kept until it expires, and again after a 401; a relative command', async () => {
  const dir = tempDir('kubeconfig-')
  const count = join(dir, 'count')
  writeFileSync(count, '')
  const plugin = join(dir, 'plugin.sh')
  // The first token it hands out is stale (the server refuses it); later ones are good.
  writeFileSync(
    plugin,
    `#!/bin/sh\necho x >> "${count}"\nif [ "$(wc -l < "${count}")" -eq 1 ]; then t=stale; else t="$TOKEN"; fi\n` +
      `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}' "$t"\n`,
  )
  chmodSync(plugin, 0o755)
  const client = KubeClient.load(
    kubeconfigWith({
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: plugin,
        env: [{ name: 'TOKEN', value: server.token }],
      },
    }),
  )
  for (let i = 0; i < 5; i++)
    await client.apply(cm(`exec-${i}`), { fieldManager: 't', force: true })
  expect(readFileSync(count, 'utf8').trim().split('\n')).toHaveLength(2)
  client.close()

  // A command with a path in it is relative to the kubeconfig's folder, wherever the agent runs.
  const relative = KubeClient.load(
    kubeconfigWith(
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: './plugin.sh',
          env: [{ name: 'TOKEN', value: server.token }],
        },
      },
      dir,
    ),
  )
  expect(await relative.isNamespaced('v1', 'ConfigMap')).toBe(true)
  relative.close()

  writeFileSync(plugin, '#!/bin/sh\necho "no credentials for you" >&2\nexit 3\n')
  const failing = KubeClient.load(kubeconfigWith({ exec: { command: plugin } }))
  await expect(failing.isNamespaced('v1', 'Secret')).rejects.toThrow(
    /no credentials for https:\/\/127\.0\.0\.1:\d+: the exec credential plugin .*plugin\.sh failed: no credentials for you/,
  )
})

test('KUBECONFIG merges files (the first to set a value wins); an auth-provider is refused', () => {
  const dir = tempDir('kubeconfig-')
  const empty = join(dir, 'empty')
  writeFileSync(
    empty,
    stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'kube-api-test' }),
  )
  const merged = loadConnection(undefined, {
    KUBECONFIG: [join(dir, 'missing'), empty, server.kubeconfigPath].join(':'),
  })
  expect(merged.server).toBe(server.url)
  expect(merged.ca?.toString()).toBe(server.ca)

  expect(() => loadConnection(kubeconfigWith({ 'auth-provider': { name: 'gcp' } }))).toThrow(
    /auth-provider.*use an exec credential plugin/,
  )
  expect(() => loadConnection(undefined, { KUBECONFIG: join(dir, 'missing') })).toThrow(
    /KUBECONFIG names no file that exists/,
  )
})

test('lists are read in pages; errors carry the server Status; an unknown kind says so', async () => {
  const client = KubeClient.load(server.kubeconfigPath)
  for (let i = 0; i < 620; i++) server.objects.apply(cm(`page-${i}`))
  server.requests.reset()
  const items = await client.list('v1', 'ConfigMap', {
    namespace: 'apps',
    labelSelector: 'batch=x',
  })
  expect(items.filter((i) => i.metadata.name.startsWith('page-'))).toHaveLength(620)
  expect(items[0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' })
  expect(server.requests.count('GET', /configmaps\?.*limit=500/)).toBe(2)

  const bad = await client
    .apply(
      { ...cm('bad'), metadata: { name: 'bad', namespace: 'nowhere' } },
      { fieldManager: 't', force: true },
    )
    .catch((e: unknown) => e as KubeError)
  expect(bad.code).toBe(404)
  expect(bad.message).toMatch(
    /^apply ConfigMap\/nowhere\/bad: namespaces "nowhere" not found \(404 NotFound\)$/,
  )
  await expect(client.isNamespaced('example.com/v1', 'Widget')).rejects.toThrow(
    /does not serve example\.com\/v1 \(a removed or not yet installed API\?\)/,
  )
  await expect(client.isNamespaced('apps/v1', 'Widget')).rejects.toThrow(
    /does not serve Widget in apps\/v1 \(is its CRD installed\?\)/,
  )
  expect(
    await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'gone', namespace: 'apps' }),
  ).toBe(false)
  client.close()
}, 60_000)

test('429 Too Many Requests is waited out a few times, then reported', async () => {
  const client = KubeClient.load(kubeconfigWith({ token: server.token }))
  await client.apply(cm('busy'), { fieldManager: 't', force: true })
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'busy', namespace: 'apps' }
  server.faults.add({
    method: 'GET',
    path: /configmaps\/busy/,
    errorRate: 1,
    errorCode: 429,
    times: 2,
  })
  expect(await client.get(ref)).toMatchObject({ data: { a: '1' } })
  server.faults.add({
    method: 'GET',
    path: /configmaps\/busy/,
    errorRate: 1,
    errorCode: 429,
    times: 4,
  })
  await expect(client.get(ref)).rejects.toMatchObject({ code: 429 })
  server.faults.clear()
  client.close()
}, 20_000)

test('a server URL with a path (a proxy in front of the API server) and plain HTTP', async () => {
  // A plain-HTTP proxy serving the API under /k8s/clusters/c1, as Rancher-style proxies do.
  const ca = server.ca
  const upstream = new URL(server.url)
  const seen: string[] = []
  const proxy = createServer((req, res) => {
    seen.push(req.url ?? '')
    if (!req.url?.startsWith('/k8s/clusters/c1/')) {
      res.writeHead(404).end('not under the prefix')
      return
    }
    const forward = httpsRequest(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        path: req.url.slice('/k8s/clusters/c1'.length),
        method: req.method,
        headers: req.headers,
        ca,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const { port } = proxy.address() as AddressInfo
  const config = load(readFileSync(server.kubeconfigPath, 'utf8')) as Kubeconfig
  config.clusters[0].cluster = { server: `http://127.0.0.1:${port}/k8s/clusters/c1/` }
  config.users[0].user = { token: server.token }
  const path = join(tempDir('kubeconfig-'), 'config')
  writeFileSync(path, stringify(config))
  const client = KubeClient.load(path)
  try {
    await client.apply(cm('proxied'), { fieldManager: 't', force: true })
    expect(
      await client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'proxied', namespace: 'apps' }),
    ).toMatchObject({ data: { a: '1' } })
    expect(seen).toContain('/k8s/clusters/c1/api/v1')
    expect(seen.every((u) => u.startsWith('/k8s/clusters/c1/'))).toBe(true)
  } finally {
    client.close()
    await new Promise((resolve) => proxy.close(resolve))
  }
})

test('a server that drops its connections (restarted, or a load balancer timing them out): reads, applies and deletes go out again on new ones; a create does not', async () => {
  const client = KubeClient.load(kubeconfigWith({ token: server.token }))
  const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: 'apps' })
  // Eight kept-alive connections in the pool, then the server closes them all.
  const fillPool = () =>
    Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.apply(cm(`kept-${i}`), { fieldManager: 't', force: true }),
      ),
    )
  try {
    await fillPool()
    server.dropConnections()
    // A create is not sent twice (a second one would fail on the first's success): it fails, saying why.
    await expect(client.create(cm('after-drop'))).rejects.toThrow(
      /^create ConfigMap\/apps\/after-drop: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: (socket hang up|read ECONNRESET)$/,
    )
    // One read goes out again past every dead connection left in the pool.
    expect(await client.get(ref('kept-0'))).toMatchObject({ data: { a: '1' } })

    // A large apply meets a closed connection while still writing (EPIPE): sent again too.
    await fillPool()
    server.dropConnections()
    const big = { ...cm('big'), data: { a: 'x'.repeat(900_000) } }
    await client.apply(big, { fieldManager: 't', force: true })
    expect(server.objects.get(ref('big'))?.data?.a).toHaveLength(900_000)

    await fillPool()
    server.dropConnections()
    expect(await client.delete(ref('big'))).toBe(true)
    expect(server.objects.get(ref('big'))).toBeUndefined()
  } finally {
    client.close()
  }
})

test('a delete bound to a uid leaves an object created again under the same name', async () => {
  const client = KubeClient.load(kubeconfigWith({ token: server.token }))
  try {
    const first = await client.apply(cm('reborn'), { fieldManager: 't', force: true })
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'reborn', namespace: 'apps' }
    expect(await client.delete(ref)).toBe(true)
    await client.apply(cm('reborn'), { fieldManager: 't', force: true })
    await expect(client.delete(ref, first.metadata.uid as string)).rejects.toThrow(
      /^delete ConfigMap\/apps\/reborn: Operation cannot be fulfilled on configmaps "reborn": Precondition failed: UID in precondition: .* \(409 Conflict\)$/,
    )
    expect(server.objects.get(ref)).toBeDefined()
    const now = server.objects.get(ref)?.metadata?.uid as string
    expect(await client.delete(ref, now)).toBe(true)
  } finally {
    client.close()
  }
})
