/**
 * A real OpenSSH server on 127.0.0.1 for tests of git over SSH, with deploy keys as a git host has them:
 * a read-only key may only fetch (`git-upload-pack`), a read-write key may also push
 * (`git-receive-pack`), and neither may run anything else. Each server has its own `sshd_config`, host key
 * and `authorized_keys` in a temp folder (removed by `cleanupTempDirs()`), and must be `stop()`ped.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs'
import { createConnection, createServer, type Socket } from 'node:net'
import { delimiter, isAbsolute, join } from 'node:path'
import { tempDir } from './tmp.js'

/** sshd re-executes itself for each connection, so it must be started by its absolute path. */
const SSHD = '/usr/sbin/sshd'
const HOST = '127.0.0.1'
const START_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 5_000
const PORT_ATTEMPTS = 5

export interface SshKey {
  privateKeyPath: string
  /** The OpenSSH private key file's text. */
  privateKey: string
  /** The `ssh-ed25519 AAAA… comment` line, as it goes into `authorized_keys`. */
  publicKey: string
}

export interface SshdOptions {
  /** Public key lines that may only fetch (`git-upload-pack`). */
  readOnlyKeys?: string[]
  /** Public key lines that may fetch and push (`git-upload-pack`, `git-receive-pack`). */
  readWriteKeys?: string[]
}

export interface SshServer {
  host: '127.0.0.1'
  port: number
  user: 'root'
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA…`, a line for a `known_hosts` file. */
  hostKeyLine: string
  /** `ssh-ed25519 AAAA…` (no comment). */
  hostPublicKey: string
  /** sshd's own log (LogLevel VERBOSE), for debugging a failing test. */
  logPath: string
  /** `ssh://root@127.0.0.1:PORT/abs/path` for an absolute path on this machine. */
  url(repoPath: string): string
  /** Lets one more key in, read-only (a deploy key registered after the server started). */
  authorize(publicKey: string): void
  /** Stops sshd (and any session it still has) and waits for it to exit; safe to call twice. */
  stop(): Promise<void>
}

/** Makes an ed25519 key pair (no passphrase) at `dir/name` and `dir/name.pub`, with `name` as comment. */
export async function generateSshKey(dir: string, name: string): Promise<SshKey> {
  const privateKeyPath = join(dir, name)
  if (existsSync(privateKeyPath))
    throw new Error(`generateSshKey: ${privateKeyPath} already exists`)
  const r = await run('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    name,
    '-f',
    privateKeyPath,
  ])
  if (r.code !== 0) throw new Error(`ssh-keygen failed (exit ${r.code}): ${r.stderr.trim()}`)
  chmodSync(privateKeyPath, 0o600)
  return {
    privateKeyPath,
    privateKey: readFileSync(privateKeyPath, 'utf8'),
    publicKey: readFileSync(`${privateKeyPath}.pub`, 'utf8').trim(),
  }
}

/**
 * A `GIT_SSH_COMMAND` value that uses only `keyPath` and trusts only the host keys in `knownHostsPath`,
 * never asks anything and reads no user or system ssh config (`-F /dev/null`).
 */
export function sshCommand(options: {
  keyPath: string
  knownHostsPath: string
  port: number
}): string {
  // ssh checks an -i path as given, then opens it with its %-tokens expanded: no escape suits both
  if (options.keyPath.includes('%'))
    throw new Error(`sshCommand: ssh -i cannot take ${options.keyPath}`)
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    shellQuote(options.keyPath),
    '-p',
    String(options.port),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    // ssh splits this value on spaces (it takes several files) and expands %-tokens in it.
    shellQuote(
      `UserKnownHostsFile="${escapePercent(options.knownHostsPath).replace(/["\\]/g, '\\$&')}"`,
    ),
  ].join(' ')
}

/** Starts sshd on a free port of 127.0.0.1 that lets `root` in only with the given keys, for git only. */
export async function startSshd(options: SshdOptions = {}): Promise<SshServer> {
  if (!existsSync(SSHD)) {
    throw new Error(
      `${SSHD} is missing: install openssh-server ` +
        `(apt-get install --no-install-recommends openssh-server; npm test installs it)`,
    )
  }
  const readOnlyKeys = (options.readOnlyKeys ?? []).map(checkPublicKey)
  const readWriteKeys = (options.readWriteKeys ?? []).map(checkPublicKey)
  const gitShell = findOnPath('git-shell')

  // Files
  const dir = tempDir('gitops-sshd-')
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }) // sshd's privilege separation folder
  const hostKey = await generateSshKey(dir, 'ssh_host_ed25519_key')
  const hostPublicKey = hostKey.publicKey.split(' ').slice(0, 2).join(' ')
  const readOnlyWrapper = writeWrapper(dir, 'read-only', ['git-upload-pack'], gitShell)
  const readWriteWrapper = writeWrapper(
    dir,
    'read-write',
    ['git-upload-pack', 'git-receive-pack'],
    gitShell,
  )
  const authorizedKeys = join(dir, 'authorized_keys')
  writeFileSync(
    authorizedKeys,
    [
      ...readOnlyKeys.map((key) => authorizedKeyLine(readOnlyWrapper, key)),
      ...readWriteKeys.map((key) => authorizedKeyLine(readWriteWrapper, key)),
    ].join(''),
    { mode: 0o600 },
  )
  const config = join(dir, 'sshd_config')
  const logPath = join(dir, 'sshd.log')
  // OpenSSH 9.8+ would lock 127.0.0.1 out after the failed attempts that tests make on purpose
  const [major, minor] = await sshdVersion()
  const extraConfig = major * 100 + minor >= 908 ? ['PerSourcePenalties no'] : []

  // Start, on another port if the free one was taken meanwhile
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    writeFileSync(
      config,
      [
        `Port ${port}`,
        `ListenAddress ${HOST}`,
        'AddressFamily inet',
        `HostKey ${configPath(hostKey.privateKeyPath)}`,
        `PidFile ${configPath(join(dir, 'sshd.pid'))}`,
        `AuthorizedKeysFile ${configPath(authorizedKeys)}`,
        'AuthorizedPrincipalsFile none',
        'StrictModes no', // temp folders are world-writable
        'UsePAM no',
        'PubkeyAuthentication yes',
        'AuthenticationMethods publickey',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'HostbasedAuthentication no',
        'PermitRootLogin forced-commands-only', // tests run as root
        'AllowUsers root',
        'AcceptEnv GIT_PROTOCOL', // lets git speak protocol v2, as git hosts do
        'PermitUserEnvironment no',
        'AllowTcpForwarding no',
        'AllowAgentForwarding no',
        'X11Forwarding no',
        'PermitTTY no',
        'PrintMotd no',
        'UseDNS no',
        'LogLevel VERBOSE',
        ...extraConfig,
        '',
      ].join('\n'),
    )
    const check = await run(SSHD, ['-t', '-f', config])
    if (check.code !== 0) {
      throw new Error(`sshd rejected ${config} (exit ${check.code}):\n${check.stderr.trim()}`)
    }
    try {
      const stop = await launch(config, port, logPath)
      return {
        host: HOST,
        port,
        user: 'root',
        hostKeyLine: `[${HOST}]:${port} ${hostPublicKey}`,
        hostPublicKey,
        logPath,
        url(repoPath: string): string {
          if (!isAbsolute(repoPath)) throw new Error(`url: ${repoPath} is not an absolute path`)
          return `ssh://root@${HOST}:${port}${repoPath}`
        },
        // sshd reads authorized_keys at each connection: an appended key works from the next one.
        authorize(publicKey: string): void {
          appendFileSync(
            authorizedKeys,
            authorizedKeyLine(readOnlyWrapper, checkPublicKey(publicKey)),
          )
        },
        stop,
      }
    } catch (error) {
      if (error instanceof PortInUseError && attempt < PORT_ATTEMPTS) continue
      throw error
    }
  }
}

class PortInUseError extends Error {}

/** Spawns sshd, waits until it serves SSH on `port`, and returns its `stop()`. */
async function launch(config: string, port: number, logPath: string): Promise<() => Promise<void>> {
  const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<string>((resolve) => {
    sshd.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit ${code}`))
  })
  sshd.once('error', () => undefined) // a failed spawn also emits 'exit'
  let exit: string | undefined
  void exited.then((how) => (exit = how))
  let log = '' // the last 64 KiB of sshd's stderr, for error messages
  sshd.stderr?.on('data', (chunk: Buffer) => {
    // A session's process may still write after stop() and its folder's removal: the file is best effort.
    try {
      appendFileSync(logPath, chunk)
    } catch {
      // the tail below still has it
    }
    log = (log + chunk.toString()).slice(-65536)
  })
  const logTail = () => log.trim().split('\n').slice(-20).join('\n')

  // Kill sshd if this process ends without stop(), however it ends: a child shell waits for the end of
  // its stdin, which comes when this process exits or dies. (A process.on('exit') handler would not do:
  // Jest gives test code its own copy of `process`, whose 'exit' never fires.)
  const watchdog = spawn(
    '/bin/sh',
    ['-c', 'read _line; kill "$1" 2>/dev/null', 'sshd-watchdog', `${sshd.pid}`],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  )
  watchdog.once('error', () => undefined)
  // Neither child keeps this process alive: a forgotten stop() must not hang Jest.
  for (const child of [sshd, watchdog]) child.unref()
  ;(sshd.stderr as Socket | null)?.unref()
  ;(watchdog.stdin as Socket | null)?.unref()

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      watchdog.kill('SIGKILL') // first, so it cannot signal a reused pid later
      if (exit !== undefined) return
      sshd.ref() // wait for the exit even when nothing else keeps this process alive
      const sessions = childPids(sshd.pid)
      sshd.kill('SIGTERM')
      for (const pid of sessions) signal(pid, 'SIGTERM')
      if (!(await within(exited, STOP_TIMEOUT_MS))) {
        sshd.kill('SIGKILL')
        for (const pid of sessions) signal(pid, 'SIGKILL')
        await exited
      }
    })())

  // Ready when sshd says it listens and the port answers with an SSH banner
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (exit !== undefined) {
      watchdog.kill('SIGKILL')
      const message = `sshd exited (${exit}) before serving ${HOST}:${port}; its stderr:\n${logTail()}`
      throw /Address already in use/.test(log) ? new PortInUseError(message) : new Error(message)
    }
    if (log.includes(`Server listening on ${HOST} port ${port}`) && (await answersSsh(port))) {
      return stop
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(
        `sshd did not serve ${HOST}:${port} within ${START_TIMEOUT_MS} ms; its stderr:\n${logTail()}`,
      )
    }
    await sleep(25)
  }
}

/** Writes the forced command of one kind of key: the allowed git commands run through git-shell. */
function writeWrapper(dir: string, kind: string, allowed: string[], gitShell: string): string {
  const path = join(dir, `${kind}.sh`)
  // git may send `git-upload-pack '/path'` or `git upload-pack '/path'`; git-shell takes both
  const patterns = allowed.flatMap((c) => [`'${c} '*`, `'${c.replace('-', ' ')} '*`]).join(' | ')
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `# Forced command for a ${kind} deploy key: only ${allowed.join(' and ')} may run.`,
      'case "$SSH_ORIGINAL_COMMAND" in',
      `${patterns}) exec ${shellQuote(gitShell)} -c "$SSH_ORIGINAL_COMMAND" ;;`,
      'esac',
      `printf '%s\\n' "test sshd: refused for a ${kind} key: \${SSH_ORIGINAL_COMMAND:-(a shell)} (allowed: ${allowed.join(', ')})" >&2`,
      'exit 1',
      '',
    ].join('\n'),
    { mode: 0o755 },
  )
  return path
}

function authorizedKeyLine(wrapper: string, publicKey: string): string {
  const command = shellQuote(wrapper).replace(/"/g, '\\"') // the only escape sshd knows there
  return `restrict,command="${command}" ${publicKey}\n`
}

/** One `type base64 [comment]` line; anything else could add options or lines to authorized_keys. */
function checkPublicKey(key: string): string {
  const line = key.trim()
  if (!/^(ssh-|ecdsa-|sk-)[\w@.-]+ [A-Za-z0-9+/]+=* ?[^\r\n]*$/.test(line)) {
    throw new Error(`startSshd: not an OpenSSH public key line: ${JSON.stringify(key)}`)
  }
  return line
}

/** OpenSSH's version as [major, minor] ([9, 2] for `OpenSSH_9.2p1`), or [0, 0] when unknown. */
async function sshdVersion(): Promise<[number, number]> {
  const r = await run(SSHD, ['-V'])
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(r.stderr + r.stdout)
  return m ? [Number(m[1]), Number(m[2])] : [0, 0]
}

/** A port the kernel just handed out on 127.0.0.1 (free now, so very likely free a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('freePort: no port'))))
    })
  })
}

/** Whether something on the port greets with an SSH identification string. */
function answersSsh(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('data', (data: Buffer) => done(data.toString('latin1').startsWith('SSH-')))
    socket.once('error', () => done(false))
    socket.once('close', () => done(false))
  })
}

/** Direct children of `pid` (sshd's per-connection processes), from /proc; none where there is none. */
function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return []
  const pids: number[] = []
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        // pid (comm) state ppid …; comm may hold spaces and parentheses
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        if (ppid === pid) pids.push(Number(entry))
      } catch {
        // the process ended meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return pids
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}

function findOnPath(command: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command)
  }
  for (const dir of ['/usr/bin', '/usr/lib/git-core']) {
    if (existsSync(join(dir, command))) return join(dir, command)
  }
  throw new Error(`${command} is not on PATH (it comes with git)`)
}

/** A word for `sh`: single-quoted unless it is plainly safe. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** A path for ssh/sshd options that expand %-tokens. */
function escapePercent(path: string): string {
  return path.replace(/%/g, '%%')
}

/** A path for sshd_config, double-quoted (some of its options expand %-tokens, some do not). */
function configPath(path: string): string {
  if (/["\\%\r\n]/.test(path)) throw new Error(`sshd_config cannot hold the path ${path}`)
  return `"${path}"`
}

function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    void promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function run(
  file: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
  })
}
