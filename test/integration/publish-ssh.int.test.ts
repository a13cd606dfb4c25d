// publish-release and rollback over SSH (sshd on 127.0.0.1), with a publisher's key that may push and
// a pinned host key; and what happens with a read-only key, a wrong host key or none.
import { publishRelease, type PublishOptions } from '../../src/lib/gitops/publish.js'
import { rollback } from '../../src/lib/gitops/rollback.js'
import { silentLogger } from '../../src/lib/log.js'
import { bareRemote, manifestsFolder, remoteFile, remoteHead, type Remote } from '../support/git.js'
import { runActionBundle } from '../support/run-bundle.js'
import { generateSshKey, startSshd, type SshKey, type SshServer } from '../support/sshd.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: SshServer
let publisher: SshKey
let reader: SshKey
let remote: Remote
let url: string

beforeAll(async () => {
  const keys = tempDir()
  publisher = await generateSshKey(keys, 'publisher')
  reader = await generateSshKey(keys, 'deploy-key')
  server = await startSshd({
    readWriteKeys: [publisher.publicKey],
    readOnlyKeys: [reader.publicKey],
  })
  remote = bareRemote()
  url = server.url(remote.path)
})

afterAll(async () => {
  await server?.stop()
  cleanupTempDirs()
})

function options(extra: Partial<PublishOptions>): PublishOptions {
  return {
    repository: url,
    auth: { sshKey: publisher.privateKey, knownHosts: server.hostKeyLine },
    env: 'staging',
    app: 'shop',
    manifests: manifestsFolder('shop', 'acme/shop:1.0.0'),
    version: '1.0.0',
    source: {},
    author: { name: 'bot', email: 'bot@example.com' },
    mode: 'push',
    force: false,
    allowSecrets: false,
    retire: false,
    dryRun: false,
    maxAttempts: 5,
    ...extra,
  }
}

test('publish and rollback with the publisher key and a pinned host key', async () => {
  const first = await publishRelease(options({}), silentLogger)
  expect(first.changed).toBe(true)
  await publishRelease(
    options({ manifests: manifestsFolder('shop', 'acme/shop:1.1.0'), version: '1.1.0' }),
    silentLogger,
  )
  const r = await rollback(
    {
      repository: url,
      auth: options({}).auth,
      env: 'staging',
      app: 'shop',
      to: 'previous',
      pin: true,
      mode: 'push',
      author: { name: 'bot', email: 'bot@example.com' },
      dryRun: false,
      maxAttempts: 5,
    },
    silentLogger,
  )
  expect(r.version).toBe('1.0.0')
  expect(JSON.parse(remoteFile(remote, 'releases/staging/shop/release.json')!).pinned.from).toBe(
    '1.1.0',
  )
})

test('the action masks the key and works the same', async () => {
  const r = await runActionBundle('publish-release', {
    repository: url,
    'ssh-key': publisher.privateKey,
    'known-hosts': server.hostKeyLine,
    env: 'dev',
    app: 'shop',
    manifests: manifestsFolder('shop', 'acme/shop:1.0.0'),
    version: '1.0.0',
  })
  expect(r.code).toBe(0)
  const keyLine = publisher.privateKey.split('\n')[1]
  expect(
    r.stdout.split('\n').filter((l) => l.includes(keyLine) && !l.startsWith('::add-mask::')),
  ).toEqual([])
})

describe('refused, with a clear error and the remote unchanged', () => {
  test.each([
    [
      'a read-only deploy key',
      () => ({ sshKey: reader.privateKey, knownHosts: server.hostKeyLine }),
      /git failed to push to main/,
    ],
    [
      'no known hosts for a host other than GitHub',
      () => ({ sshKey: publisher.privateKey }),
      /known-hosts is required for the SSH remote/,
    ],
    [
      'a host key that does not match',
      () => ({
        sshKey: publisher.privateKey,
        knownHosts: `[127.0.0.1]:${server.port} ${reader.publicKey.split(' ').slice(0, 2).join(' ')}`,
      }),
      /Host key verification failed/,
    ],
  ])('%s', async (_name, auth, message) => {
    const head = remoteHead(remote)
    await expect(
      publishRelease(options({ env: 'qa', auth: auth() }), silentLogger),
    ).rejects.toThrow(message)
    expect(remoteHead(remote)).toBe(head)
  })
})
