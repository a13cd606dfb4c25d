import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCleanups } from '../../src/lib/process/cleanup.js'
import {
  limitOf,
  ProcessLimitError,
  runCommand,
  runProcess,
  stopChildren,
} from '../../src/lib/process/run.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

/** True while a process with this id exists (and is not a zombie of ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** A shell that leaves a grandchild (`sleep`) holding the pipes, its pid in `pidFile`. */
function hangingShell(pidFile: string): [string, string[]] {
  return ['/bin/sh', ['-c', `sleep 30 & echo $! > '${pidFile}'; wait`]]
}

async function waitFor(file: string): Promise<number> {
  for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 20))
  for (let i = 0; i < 50; i++) {
    const pid = Number(readFileSync(file, 'utf8'))
    if (pid > 0) return pid
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`${file} holds no pid`)
}

test('output as bytes and text, stdin input, exit code and stderr', async () => {
  const r = await runProcess('/bin/sh', ['-c', 'cat; echo oops >&2; exit 3'], {
    input: 'h\u00e9llo',
  })
  expect(r.code).toBe(3)
  expect(r.stdout).toEqual(Buffer.from('h\u00e9llo'))
  expect(r.stderr).toBe('oops\n')
  const t = await runCommand('/bin/echo', ['-n', '--', '$HOME; rm -rf /'])
  expect(t).toEqual({ code: 0, stdout: '-- $HOME; rm -rf /', stderr: '' })
})

test('a timeout kills the whole process group, grandchildren included, with a clear error', async () => {
  const pidFile = join(tempDir(), 'pid')
  const [cmd, args] = hangingShell(pidFile)
  const started = Date.now()
  const run = runProcess(cmd, args, {
    timeoutMs: 700,
    label: 'kustomize build apps/x',
    timeoutSetting: 'kustomize-timeout',
  })
  const grandchild = await waitFor(pidFile)
  await expect(run).rejects.toThrow(
    'kustomize build apps/x did not finish within 0.7 s (kustomize-timeout); killed',
  )
  expect(Date.now() - started).toBeLessThan(5000)
  expect(alive(grandchild)).toBe(false)
}, 15_000)

test('a group using more memory than allowed is killed (RSS of the whole group, watched)', async () => {
  // The memory is taken by a grandchild: the cap is on the group, not on the process started.
  const hog = `const a = []; setInterval(() => a.push(Buffer.alloc(16 * 1024 * 1024, 1)), 20)`
  const started = Date.now()
  const run = runProcess('/bin/sh', ['-c', `"${process.execPath}" -e "${hog}"; true`], {
    memoryLimitMB: 150,
    timeoutMs: 20_000,
    label: 'kustomize build hog',
    memorySetting: 'kustomize-memory-limit',
  })
  await expect(run).rejects.toThrow(
    'kustomize build hog used more than 150 MiB of memory (kustomize-memory-limit); killed',
  )
  expect(Date.now() - started).toBeLessThan(10_000)
}, 25_000)

test('output beyond the cap is refused and the process killed', async () => {
  const run = runProcess('yes', [], { maxOutputBytes: 1024 * 1024, label: 'yes' })
  await expect(run).rejects.toThrow('yes wrote more than 1 MiB of output; killed')
})

test('a stop (cleanup registry or stopChildren) kills running children at once', async () => {
  for (const stop of [runCleanups, stopChildren]) {
    const pidFile = join(tempDir(), 'pid')
    const [cmd, args] = hangingShell(pidFile)
    const run = runProcess(cmd, args, { label: 'git fetch' })
    const grandchild = await waitFor(pidFile)
    const started = Date.now()
    stop()
    await expect(run).rejects.toThrow('git fetch was stopped (shutting down); killed')
    expect(Date.now() - started).toBeLessThan(2000)
    expect(alive(grandchild)).toBe(false)
  }
}, 15_000)

test('an abort signal kills the group', async () => {
  const pidFile = join(tempDir(), 'pid')
  const [cmd, args] = hangingShell(pidFile)
  const controller = new AbortController()
  const run = runProcess(cmd, args, { label: 'sh', signal: controller.signal })
  const grandchild = await waitFor(pidFile)
  controller.abort()
  await expect(run).rejects.toThrow('sh was stopped (shutting down); killed')
  expect(alive(grandchild)).toBe(false)
}, 15_000)

test('a program that does not exist is an error naming it', async () => {
  await expect(runProcess('/nonexistent/kustomize', ['build'])).rejects.toThrow(
    /\/nonexistent\/kustomize.*ENOENT/,
  )
})

test('a limit is told the same way whoever wrapped the runner’s error', () => {
  const limit = new ProcessLimitError('git did not finish within 1 s; killed', 'timeout', '')
  expect(limitOf(limit)).toBe('timeout')
  expect(limitOf(new Error('git failed to fetch main', { cause: limit }))).toBe('timeout')
  expect(limitOf(new Error('git failed', { cause: new Error('exit 128') }))).toBeUndefined()
  expect(limitOf('not an error')).toBeUndefined()
})
