// The kubeconfig's proxy-url: the agent's client and the real kubectl reach the test API server through
// a local CONNECT proxy (with a user name and password); a refused tunnel, a SOCKS proxy and an
// unreachable proxy say so, and no message carries the proxy's password.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { stringify } from 'yaml'
import { KubeClient, KubeError } from '../../src/lib/kube/client.js'
import { loadConnection } from '../../src/lib/kube/kubeconfig.js'
import { startConnectProxy, type ConnectProxy } from '../support/kube-connect-proxy.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { runKubectl } from '../support/kubectl.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

const PASSWORD = 'pa@ss:word'
let server: KubeApiServer
let proxy: ConnectProxy
beforeAll(async () => {
  server = await startKubeApiServer({ requireToken: true, namespaces: ['default', 'apps'] })
  proxy = await startConnectProxy({ credentials: { user: 'agent', password: PASSWORD } })
})
afterAll(async () => {
  await proxy.stop()
  await server.stop()
  cleanupTempDirs()
})

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[]
}

/** A kubeconfig for `api` (default: the test server) whose cluster has this proxy-url. */
function kubeconfigVia(proxyUrl: string, api: KubeApiServer = server): string {
  const config = load(readFileSync(api.kubeconfigPath, 'utf8')) as Kubeconfig
  config.clusters[0].cluster['proxy-url'] = proxyUrl
  const path = join(tempDir('kubeconfig-'), 'config')
  writeFileSync(path, stringify(config))
  return path
}

/** The proxy's URL with a user name and password (the password URL-encoded, as in a kubeconfig). */
function withCredentials(password = PASSWORD): string {
  const url = new URL(proxy.url)
  url.username = 'agent'
  url.password = encodeURIComponent(password)
  return url.toString()
}

const cm = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps' },
  data: { a: '1' },
})
const basic = `Basic ${Buffer.from(`agent:${PASSWORD}`).toString('base64')}`
const apiHost = () => new URL(server.url).host

test('requests go through the proxy in kept-alive CONNECT tunnels, with its credentials; kubectl reads what the client wrote', async () => {
  const kubeconfig = kubeconfigVia(withCredentials())
  const client = KubeClient.load(kubeconfig)
  proxy.connects.length = 0
  server.requests.reset()
  try {
    for (let i = 0; i < 10; i++)
      await client.apply(cm(`proxied-${i}`), { fieldManager: 't', force: true })
    expect(
      await client.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'proxied-9',
        namespace: 'apps',
      }),
    ).toMatchObject({ data: { a: '1' } })
  } finally {
    client.close()
  }
  // One tunnel served every request, one after the other (the pool keeps it).
  expect(proxy.connects).toEqual([{ target: apiHost(), proxyAuthorization: basic, status: 200 }])
  expect(server.requests.count('PATCH')).toBe(10)

  // The same kubeconfig, read by the real kubectl: it tunnels through the proxy too.
  proxy.connects.length = 0
  const got = await runKubectl(kubeconfig, join(tempDir('kubectl-'), 'cache'), [
    'get',
    'configmap',
    'proxied-3',
    '-n',
    'apps',
    '-o',
    'jsonpath={.data.a}',
  ])
  expect(got).toMatchObject({ code: 0, stdout: '1' })
  expect(proxy.connects.length).toBeGreaterThan(0)
  expect(proxy.connects.every((c) => c.proxyAuthorization === basic && c.status === 200)).toBe(true)
})

test('a plain-http API server is reached through the proxy too', async () => {
  const plain = await startKubeApiServer({ tls: false })
  const client = KubeClient.load(kubeconfigVia(withCredentials(), plain))
  proxy.connects.length = 0
  try {
    expect(await client.isNamespaced('v1', 'ConfigMap')).toBe(true)
    expect(proxy.connects).toEqual([
      { target: new URL(plain.url).host, proxyAuthorization: basic, status: 200 },
    ])
  } finally {
    client.close()
    await plain.stop()
  }
})

test('a refused tunnel (407), an unreachable proxy and a SOCKS proxy say so, without the password', async () => {
  const wrong = KubeClient.load(kubeconfigVia(withCredentials('wrong-secret')))
  const refused = (await wrong.isNamespaced('v1', 'Secret').catch((e: unknown) => e)) as KubeError
  wrong.close()
  expect(refused).toBeInstanceOf(KubeError)
  expect(refused.message).toBe(
    `discover v1: cannot reach the API server at ${server.url}: the proxy ${proxy.url} refused a tunnel to ${apiHost()}: 407 Proxy Authentication Required`,
  )
  expect(refused.message).not.toMatch(/wrong-secret|agent/)

  const gone = withCredentials().replace(/:\d+\/$/, ':1/')
  const unreachable = KubeClient.load(kubeconfigVia(gone))
  const error = (await unreachable.isNamespaced('v1', 'Secret').catch((e: unknown) => e)) as Error
  unreachable.close()
  expect(error.message).toMatch(
    /^discover v1: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: the proxy http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1$/,
  )
  expect(error.message).not.toMatch(/pa%40ss|pa@ss|agent/)

  expect(() => loadConnection(kubeconfigVia(`socks5://agent:${PASSWORD}@127.0.0.1:1080`))).toThrow(
    /^the kubeconfig cluster kube-api-test sets proxy-url socks5:\/\/127\.0\.0\.1:1080, a SOCKS proxy, which is not supported: use an http or https proxy$/,
  )
  expect(() => loadConnection(kubeconfigVia('ftp://127.0.0.1:21'))).toThrow(
    /only http and https proxies are supported/,
  )
})
