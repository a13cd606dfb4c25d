// A publish stopped by a signal (a cancelled CI job, Ctrl-C, a closed terminal) leaves neither the clone
// nor the SSH key in $TMPDIR. The CLI bundle is run as a runner would run it (`npm run build` first) and
// stopped while the remote's pre-receive hook keeps its push waiting.
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bareRemote, manifestsFolder, remoteHead, type Remote } from '../support/git.js'
import { dist } from '../support/paths.js'
import { generateSshKey, startSshd, type SshKey, type SshServer } from '../support/sshd.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: SshServer | undefined
const hooks: string[] = []

afterAll(async () => {
  // Let every waiting hook go (it refuses the push), then stop sshd.
  for (const release of hooks) writeFileSync(release, '')
  await server?.stop()
  cleanupTempDirs()
})

/** A pre-receive hook that says it started (`started` appears), then waits until `release` exists (at most 60 s). */
function waitingHook(remote: Remote): { started: string } {
  const dir = tempDir('gitops-hook-')
  const started = join(dir, 'started')
  const release = join(dir, 'release')
  hooks.push(release)
  const hook = join(remote.path, 'hooks', 'pre-receive')
  writeFileSync(
    hook,
    `#!/bin/sh\ntouch '${started}'\ni=0\nwhile [ ! -e '${release}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\nexit 1\n`,
  )
  chmodSync(hook, 0o755)
  return { started }
}

/** Every path under `dir`, files and folders. */
function walk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    out.push(path)
    if (statSync(path).isDirectory()) out.push(...walk(path))
  }
  return out
}

async function waitFor(file: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`${file} did not appear within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Runs `gitops-actions publish-release` with `TMPDIR` set to a fresh folder; stops it with `signal` once the hook waits. */
async function publishAndStop(
  url: string,
  hookStarted: string,
  signal: NodeJS.Signals,
  extraArgs: string[] = [],
): Promise<{ tmp: string; code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const tmp = tempDir('gitops-tmpdir-')
  const child = spawn(
    process.execPath,
    [
      dist('cli'),
      'publish-release',
      '--repository',
      url,
      '--env',
      'staging',
      '--app',
      'shop',
      '--manifests',
      manifestsFolder('shop', 'acme/shop:1.0.0'),
      '--version',
      '1.0.0',
      '--max-attempts',
      '1',
      ...extraArgs,
    ],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, sig) => resolve({ code, signal: sig })),
  )
  await Promise.race([
    waitFor(hookStarted, 30_000),
    ended.then(() => {
      throw new Error(`the CLI ended before the push waited:\n${output}`)
    }),
  ])
  child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const end = await Promise.race([
    ended,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('the CLI did not end within 10 s of the signal')),
        10_000,
      )
    }),
  ]).finally(() => clearTimeout(timer))
  return { tmp, ...end, output }
}

test.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
  '%s while pushing: the clone is removed from TMPDIR',
  async (signal) => {
    const remote = bareRemote()
    const head = remoteHead(remote)
    const hook = waitingHook(remote)
    const r = await publishAndStop(remote.url, hook.started, signal)
    expect(r.signal).toBe(signal)
    expect(walk(r.tmp).filter((p) => /gitops-(repo|ssh)-/.test(p))).toEqual([])
    expect(remoteHead(remote)).toBe(head)
  },
)

test('SIGTERM while pushing over SSH: neither the clone nor the key is left in TMPDIR', async () => {
  const publisher: SshKey = await generateSshKey(tempDir(), 'publisher')
  server = await startSshd({ readWriteKeys: [publisher.publicKey] })
  const remote = bareRemote()
  const head = remoteHead(remote)
  const hook = waitingHook(remote)
  const r = await publishAndStop(server.url(remote.path), hook.started, 'SIGTERM', [
    `--ssh-key=${publisher.privateKey}`,
    `--known-hosts=${server.hostKeyLine}`,
  ])
  expect(r.signal).toBe('SIGTERM')
  const left = walk(r.tmp)
  expect(left.filter((p) => /gitops-(repo|ssh)-/.test(p))).toEqual([])
  const keyBody = publisher.privateKey.split('\n')[1]
  expect(
    left.filter((p) => statSync(p).isFile() && readFileSync(p, 'utf8').includes(keyBody)),
  ).toEqual([])
  expect(r.output).not.toContain(keyBody)
  expect(remoteHead(remote)).toBe(head)
})
