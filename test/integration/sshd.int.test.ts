/** The test sshd (test/support/sshd.ts) with real git and ssh: deploy keys behave as on a git host. */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  generateSshKey,
  sshCommand,
  startSshd,
  type SshKey,
  type SshServer,
} from '../support/sshd.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** git and ssh see no user or system config and never prompt. */
const baseEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  LANG: 'C',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_AUTHOR_DATE: '2024-01-02T03:04:05Z',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z',
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(file, args, {
      cwd,
      env: { ...baseEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
  })
}

async function git(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return exec('git', args, options.env, options.cwd)
}

/** git that must succeed; returns its trimmed stdout. */
async function gitOk(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = await git(args, options)
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  return r.stdout.trim()
}

describe('test sshd with deploy keys (real git over ssh://)', () => {
  let root: string
  let remote: string
  let work: string
  let clientDir: string
  let knownHosts: string
  let reader: SshKey
  let publisher: SshKey
  let server: SshServer | undefined
  let firstCommit: string

  const as = (key: SshKey, hosts = knownHosts) => ({
    GIT_SSH_COMMAND: sshCommand({
      keyPath: key.privateKeyPath,
      knownHostsPath: hosts,
      port: server!.port,
    }),
  })
  const remoteRefs = () =>
    gitOk(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: remote })

  beforeAll(async () => {
    root = tempDir('gitops-sshd-test-')
    // A bare remote with one commit, made over file://
    remote = join(root, 'remote.git')
    work = join(root, 'work')
    await gitOk(['init', '--bare', '-b', 'main', remote])
    await gitOk(['init', '-b', 'main', work])
    writeFileSync(join(work, 'README.md'), 'hello\n')
    await gitOk(['add', 'README.md'], { cwd: work })
    await gitOk(['commit', '-m', 'first'], { cwd: work })
    await gitOk(['push', `file://${remote}`, 'main'], { cwd: work })
    firstCommit = await gitOk(['rev-parse', 'main'], { cwd: remote })

    // Keys and known_hosts in a folder with a space, to exercise the quoting of GIT_SSH_COMMAND
    clientDir = join(root, 'ssh client')
    mkdirSync(clientDir)
    reader = await generateSshKey(clientDir, 'reader')
    publisher = await generateSshKey(clientDir, 'publisher')
    server = await startSshd({
      readOnlyKeys: [reader.publicKey],
      readWriteKeys: [publisher.publicKey],
    })
    knownHosts = join(clientDir, 'known_hosts')
    writeFileSync(knownHosts, `${server.hostKeyLine}\n`)
  })

  afterAll(async () => {
    await server?.stop()
    cleanupTempDirs()
  })

  test('generateSshKey writes an ed25519 pair, the private key readable by its owner only', () => {
    expect(reader.publicKey).toMatch(/^ssh-ed25519 AAAA[\w+/]+=* reader$/)
    expect(reader.privateKey).toContain('BEGIN OPENSSH PRIVATE KEY')
    expect(readFileSync(reader.privateKeyPath, 'utf8')).toBe(reader.privateKey)
    expect(statSync(reader.privateKeyPath).mode & 0o777).toBe(0o600)
  })

  test('the server describes itself', () => {
    const s = server!
    expect(s.host).toBe('127.0.0.1')
    expect(s.user).toBe('root')
    expect(s.port).toBeGreaterThan(1024)
    expect(s.hostPublicKey).toMatch(/^ssh-ed25519 AAAA[\w+/]+=*$/)
    expect(s.hostKeyLine).toBe(`[127.0.0.1]:${s.port} ${s.hostPublicKey}`)
    expect(s.url('/srv/repo.git')).toBe(`ssh://root@127.0.0.1:${s.port}/srv/repo.git`)
    expect(() => s.url('relative.git')).toThrow(/absolute/)
  })

  test('the read-only key clones over ssh:// and gets the commit', async () => {
    const clone = join(root, 'clone-reader')
    const r = await git(['clone', server!.url(remote), clone], { env: as(reader) })
    expect(r.stderr).not.toMatch(/warning|fatal/i)
    expect(r.code).toBe(0)
    expect(await gitOk(['rev-parse', 'HEAD'], { cwd: clone })).toBe(firstCommit)
    expect(readFileSync(join(clone, 'README.md'), 'utf8')).toBe('hello\n')
  })

  test('the read-only key lists the remote refs', async () => {
    const r = await git(['ls-remote', server!.url(remote)], { env: as(reader) })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`${firstCommit}\trefs/heads/main`)
  })

  test('the read-only key cannot push, and the remote stays as it was', async () => {
    const before = await remoteRefs()
    const clone = join(root, 'push-reader')
    await gitOk(['clone', server!.url(remote), clone], { env: as(reader) })
    writeFileSync(join(clone, 'README.md'), 'changed by a reader\n')
    await gitOk(['commit', '-am', 'reader change'], { cwd: clone })
    const r = await git(['push', 'origin', 'main'], { cwd: clone, env: as(reader) })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('refused for a read-only key')
    expect(r.stderr).toContain('git-receive-pack')
    expect(await remoteRefs()).toBe(before)
  })

  test('the read-write key pushes, and the remote has the new commit', async () => {
    const clone = join(root, 'push-publisher')
    await gitOk(['clone', server!.url(remote), clone], { env: as(publisher) })
    writeFileSync(join(clone, 'CHANGELOG.md'), 'published\n')
    await gitOk(['add', 'CHANGELOG.md'], { cwd: clone })
    await gitOk(['commit', '-m', 'publish'], { cwd: clone })
    const pushed = await gitOk(['rev-parse', 'HEAD'], { cwd: clone })
    const r = await git(['push', 'origin', 'main'], { cwd: clone, env: as(publisher) })
    expect(r.code).toBe(0)
    expect(await gitOk(['rev-parse', 'main'], { cwd: remote })).toBe(pushed)
    expect(await gitOk(['rev-parse', 'main~1'], { cwd: remote })).toBe(firstCommit)
  })

  test('a known_hosts line with another key makes the clone fail host key verification', async () => {
    const impostor = await generateSshKey(tempDir(), 'impostor')
    const wrongHosts = join(clientDir, 'known_hosts.wrong')
    const [type, key] = impostor.publicKey.split(' ')
    writeFileSync(wrongHosts, `[127.0.0.1]:${server!.port} ${type} ${key}\n`)
    const clone = join(root, 'clone-wrong-host')
    const r = await git(['clone', server!.url(remote), clone], { env: as(reader, wrongHosts) })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('Host key verification failed')
    expect(existsSync(join(clone, '.git'))).toBe(false)
  })

  test('a key runs nothing but git: other commands, a shell and tricks are refused', async () => {
    const ssh = async (key: SshKey, command: string) => {
      const line = `${as(key).GIT_SSH_COMMAND} root@127.0.0.1 ${command}`
      return exec('/bin/sh', ['-c', line])
    }
    for (const key of [reader, publisher]) {
      const kind = key === reader ? 'read-only' : 'read-write'
      const id = await ssh(key, 'id')
      expect(id.code).toBe(1)
      expect(id.stdout).toBe('')
      expect(id.stderr).toContain(`test sshd: refused for a ${kind} key: id`)

      const shell = await ssh(key, '')
      expect(shell.code).not.toBe(0)
      expect(shell.stdout).toBe('')
      expect(shell.stderr).toContain(`refused for a ${kind} key: (a shell)`)
    }
    // Allowed prefix, but git-shell takes one quoted path and runs no shell
    const sneaky = await ssh(reader, `"git-upload-pack '/tmp'; id"`)
    expect(sneaky.code).not.toBe(0)
    expect(sneaky.stdout).not.toContain('uid=')
  })
})
