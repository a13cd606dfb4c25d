// Client certificates from exec credential plugins (ExecCredential status.clientCertificateData and
// clientKeyData): a test API server that takes client certificates signed by its client CA, a real
// plugin script, and the real kubectl with the same kubeconfig.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { stringify } from 'yaml'
import { KubeClient } from '../../src/lib/kube/client.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import {
  testCertificates,
  testClientCertificate,
  type TestCertificates,
} from '../support/kube-api/tls.js'
import { runKubectl } from '../support/kubectl.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: KubeApiServer
let client: TestCertificates
beforeAll(async () => {
  client = await testClientCertificate()
  // No request gets in without the token or a client certificate the client CA signed.
  server = await startKubeApiServer({
    requireToken: true,
    clientCa: client.ca,
    namespaces: ['default', 'apps'],
  })
})
afterAll(async () => {
  await server.stop()
  cleanupTempDirs()
})

interface Kubeconfig {
  users: { name: string; user: Record<string, unknown> }[]
}

/**
 * A kubeconfig whose user is an exec plugin script printing the ExecCredential statuses given, the nth
 * run the nth (the last one from then on); it counts its runs in `<dir>/runs`.
 */
function pluginKubeconfig(statuses: Record<string, unknown>[]): {
  path: string
  runs: () => number
} {
  const dir = tempDir('exec-cert-')
  statuses.forEach((status, i) =>
    writeFileSync(
      join(dir, `credential-${i + 1}.json`),
      JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status,
      }),
    ),
  )
  const plugin = join(dir, 'plugin.sh')
  writeFileSync(
    plugin,
    [
      '#!/bin/sh',
      'cd "$(dirname "$0")"',
      'echo x >> runs',
      'n=$(wc -l < runs)',
      `[ "$n" -le ${statuses.length} ] || n=${statuses.length}`,
      'cat "credential-$n.json"',
    ].join('\n') + '\n',
  )
  chmodSync(plugin, 0o755)
  const config = load(readFileSync(server.kubeconfigPath, 'utf8')) as Kubeconfig
  config.users[0].user = {
    // kubectl wants interactiveMode with the v1 API.
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: './plugin.sh',
      interactiveMode: 'Never',
    },
  }
  const path = join(dir, 'config')
  writeFileSync(path, stringify(config))
  const runs = () => {
    try {
      return readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n').length
    } catch {
      return 0
    }
  }
  return { path, runs }
}

const certificate = (c: TestCertificates) => ({
  clientCertificateData: c.cert,
  clientKeyData: c.key,
  expirationTimestamp: '2099-01-01T00:00:00Z',
})
const cm = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps' },
  data: { a: '1' },
})

test("a plugin's client certificate proves who we are: the plugin runs once; kubectl agrees", async () => {
  const { path, runs } = pluginKubeconfig([certificate(client)])
  const kube = KubeClient.load(path)
  server.requests.reset()
  try {
    for (let i = 0; i < 5; i++)
      await kube.apply(cm(`cert-${i}`), { fieldManager: 't', force: true })
  } finally {
    kube.close()
  }
  expect(runs()).toBe(1)
  const seen = server.requests.all()
  expect(seen.length).toBeGreaterThan(5)
  expect(seen.every((r) => r.user === 'test-user' && r.status! < 300)).toBe(true)

  // The real kubectl, with the same kubeconfig, gets in with the same certificate.
  const got = await runKubectl(path, join(tempDir('kubectl-'), 'cache'), [
    'get',
    'configmap',
    'cert-4',
    '-n',
    'apps',
    '-o',
    'jsonpath={.data.a}',
  ])
  expect(got).toEqual({ code: 0, stdout: '1', stderr: '' })
})

test('a refused certificate (401) runs the plugin again, and its new certificate is used on new connections', async () => {
  // The first certificate is signed by a CA the server does not trust.
  const stranger = await testCertificates()
  const { path, runs } = pluginKubeconfig([certificate(stranger), certificate(client)])
  const kube = KubeClient.load(path)
  server.requests.reset()
  try {
    await kube.apply(cm('rotated'), { fieldManager: 't', force: true })
    await kube.apply(cm('rotated-2'), { fieldManager: 't', force: true })
  } finally {
    kube.close()
  }
  expect(runs()).toBe(2)
  // Discovery refused, then asked again with the new certificate; both objects created with it.
  expect(server.requests.all().map((r) => [r.status, r.user])).toEqual([
    [401, undefined],
    [200, 'test-user'],
    [201, 'test-user'],
    [201, 'test-user'],
  ])
})

test('a token and a certificate together; a certificate without its key; neither', async () => {
  const both = pluginKubeconfig([{ ...certificate(client), token: server.token }])
  const kube = KubeClient.load(both.path)
  expect(await kube.isNamespaced('v1', 'ConfigMap')).toBe(true)
  kube.close()

  const keyless = KubeClient.load(pluginKubeconfig([{ clientCertificateData: client.cert }]).path)
  await expect(keyless.isNamespaced('v1', 'Secret')).rejects.toThrow(
    /the exec credential plugin .*plugin\.sh returned a client certificate without its key, or a key alone$/,
  )
  const empty = KubeClient.load(pluginKubeconfig([{}]).path)
  const error = (await empty.isNamespaced('v1', 'Secret').catch((e: unknown) => e)) as Error
  expect(error.message).toMatch(
    /the exec credential plugin .*plugin\.sh returned neither a token nor a client certificate$/,
  )
  // The plugin's own error is kept as the cause (a limit of the process runner would be found there).
  expect(error.cause).toBeInstanceOf(Error)
})
