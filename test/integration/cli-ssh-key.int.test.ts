// The CLI bundle with an SSH key: given as `--ssh-key "$(cat key)"` next to a mistyped flag, the key
// appears nowhere in what it prints; `--ssh-key-file` and `GITOPS_SSH_KEY` publish over SSH (sshd on
// 127.0.0.1), as the README shows.
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bareRemote, manifestsFolder, remoteFile, type Remote } from '../support/git.js'
import { runActionBundle, runCli, type BundleRun } from '../support/run-bundle.js'
import { generateSshKey, startSshd, type SshKey, type SshServer } from '../support/sshd.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: SshServer
let publisher: SshKey
let remote: Remote
let url: string

beforeAll(async () => {
  const keys = tempDir()
  publisher = await generateSshKey(keys, 'publisher')
  server = await startSshd({ readWriteKeys: [publisher.publicKey] })
  remote = bareRemote()
  url = server.url(remote.path)
})

afterAll(async () => {
  await server?.stop()
  cleanupTempDirs()
})

/** Every line of the key's body (the header and footer are not secret), looked for in all output. */
function expectNoKey(r: BundleRun): void {
  const secretLines = publisher.privateKey
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('-----'))
  const printed = r.stdout + r.stderr
  for (const line of secretLines) expect(printed).not.toContain(line)
  expect(printed).not.toContain('BEGIN OPENSSH PRIVATE KEY')
}

function publishArgs(env: string, version: string): string[] {
  return [
    'publish-release',
    '--repository',
    url,
    '--known-hosts',
    server.hostKeyLine,
    '--env',
    env,
    '--app',
    'shop',
    '--manifests',
    manifestsFolder('shop', `acme/shop:${version}`),
    '--version',
    version,
  ]
}

describe('a key on the command line is never printed', () => {
  test.each([
    ['after a mistyped flag', (key: string) => ['--sssh-key', key]],
    ['with a mistyped flag after it', (key: string) => ['--ssh-key', key, '--bogus-flag', 'x']],
    ['after a boolean flag', (key: string) => ['--force', key]],
    ['as --ssh-key=KEY with a typo', (key: string) => [`--ssh-kee=${key}`]],
  ])('%s', async (_name, extra) => {
    const r = await runCli([...publishArgs('dev', '1.0.0'), ...extra(publisher.privateKey)])
    expect(r.code).toBe(2)
    expectNoKey(r)
  })

  test('a command that fails after reading the key does not print it either', async () => {
    const r = await runCli([
      ...publishArgs('dev', '1.0.0'),
      '--ssh-key',
      publisher.privateKey,
      '--version',
      'not\nok',
    ])
    expect(r.code).not.toBe(0)
    expectNoKey(r)
  })
})

test('--ssh-key "$(cat key)" publishes', async () => {
  const r = await runCli([
    ...publishArgs('dev', '1.0.0'),
    '--ssh-key',
    publisher.privateKey,
    '--bogus',
  ])
  expect(r.code).toBe(2)
  expect(r.stderr).toMatch(/unknown flag --bogus/)
  const ok = await runCli([...publishArgs('dev', '1.0.0'), '--ssh-key', publisher.privateKey])
  expect(ok.code).toBe(0)
  expect(ok.outputs.changed).toBe('true')
  expectNoKey(ok)
})

test('--ssh-key-file publishes over SSH, and never prints the key', async () => {
  const r = await runCli([
    ...publishArgs('staging', '1.0.0'),
    '--ssh-key-file',
    publisher.privateKeyPath,
  ])
  expect(r.code).toBe(0)
  expect(r.outputs.changed).toBe('true')
  expect(JSON.parse(remoteFile(remote, 'releases/staging/shop/release.json')!).version).toBe(
    '1.0.0',
  )
  expectNoKey(r)
})

test('GITOPS_SSH_KEY_FILE and GITOPS_SSH_KEY work as the flags do', async () => {
  const viaFile = await runCli(publishArgs('qa', '1.0.0'), {
    env: { GITOPS_SSH_KEY_FILE: publisher.privateKeyPath },
  })
  expect(viaFile.code).toBe(0)
  expect(viaFile.outputs.changed).toBe('true')
  const viaKey = await runCli(publishArgs('qa', '1.1.0'), {
    env: { GITOPS_SSH_KEY: publisher.privateKey },
  })
  expect(viaKey.code).toBe(0)
  expect(viaKey.outputs.version).toBe('1.1.0')
  expectNoKey(viaFile)
  expectNoKey(viaKey)
})

test('--ssh-key-file: both forms at once, or an unreadable file, are clear errors', async () => {
  const both = await runCli([
    ...publishArgs('qa', '1.0.0'),
    '--ssh-key-file',
    publisher.privateKeyPath,
    '--ssh-key',
    publisher.privateKey,
  ])
  expect(both.code).toBe(1)
  expect(both.stderr).toMatch(/ssh-key and ssh-key-file/)
  expectNoKey(both)
  const missing = join(tempDir(), 'no-such-key')
  const unreadable = await runCli([...publishArgs('qa', '1.0.0'), '--ssh-key-file', missing])
  expect(unreadable.code).toBe(1)
  expect(unreadable.stderr).toContain(`ssh-key-file ${missing}`)
  const locked = join(tempDir(), 'locked-key')
  writeFileSync(locked, publisher.privateKey)
  chmodSync(locked, 0o000)
  // root reads any file whatever its mode; the refusal is only checked where the mode holds.
  if (process.getuid?.() !== 0) {
    const r = await runCli([...publishArgs('qa', '1.0.0'), '--ssh-key-file', locked])
    expect(r.stderr).toContain(`ssh-key-file ${locked}`)
  }
})

test('the action takes ssh-key-file too', async () => {
  const r = await runActionBundle('publish-release', {
    repository: url,
    'ssh-key-file': publisher.privateKeyPath,
    'known-hosts': server.hostKeyLine,
    env: 'prod',
    app: 'shop',
    manifests: manifestsFolder('shop', 'acme/shop:1.0.0'),
    version: '1.0.0',
  })
  expect(r.code).toBe(0)
  expect(r.outputs.changed).toBe('true')
  const printed = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'))
  const keyLine = publisher.privateKey.split('\n')[1]
  expect(printed.filter((l) => l.includes(keyLine))).toEqual([])
  // The key's content is masked, as ssh-key's is.
  expect(r.stdout).toContain(`::add-mask::${keyLine}`)
})
