/**
 * Faults for the reliability suite, outside the API server: a git remote that never answers, a
 * pre-receive hook that refuses pushes, and a bundle run that can be stopped mid-way and whose leftover
 * processes can be listed.
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { dist } from './paths.js'

export interface HangingServer {
  /** `http://127.0.0.1:PORT/gitops.git`: a git URL whose server takes the connection and says nothing. */
  url: string
  port: number
  /** Connections it has taken so far. */
  connections(): number
  close(): Promise<void>
}

/** A TCP server on 127.0.0.1 that accepts every connection and never answers. */
export async function hangingServer(): Promise<HangingServer> {
  const sockets = new Set<Socket>()
  let taken = 0
  const server = createServer((socket) => {
    taken++
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
    socket.resume() // read and drop whatever is sent, answer nothing
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/gitops.git`,
    port,
    connections: () => taken,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Installs a pre-receive hook in a bare repository that refuses about `percent` % of pushes, in an order
 * fixed by `seed` (push n is refused when cksum("seed-n") mod 100 < percent), and logs each decision to
 * `<repo>/fault.log` (`accept n` / `refuse n`). Pushes are counted under a lock, so concurrent pushes
 * each get their own number.
 */
export function refusingHook(repoPath: string, percent: number, seed: number): void {
  const hook = join(repoPath, 'hooks', 'pre-receive')
  writeFileSync(
    hook,
    [
      '#!/bin/sh',
      'cat >/dev/null',
      'exec 9>fault.lock',
      'flock 9',
      'n=$(cat fault.count 2>/dev/null || echo 0)',
      'echo $((n + 1)) >fault.count',
      `r=$(printf '%s' "${seed}-$n" | cksum | cut -d' ' -f1)`,
      `if [ $((r % 100)) -lt ${percent} ]; then`,
      '  echo "refuse $n" >>fault.log',
      '  echo "fault injected: push $n refused by the pre-receive hook" >&2',
      '  exit 1',
      'fi',
      'echo "accept $n" >>fault.log',
      '',
    ].join('\n'),
  )
  chmodSync(hook, 0o755)
}

/** A pre-receive hook that sleeps (a slow remote), so that a push can be caught in the middle. */
export function sleepingHook(repoPath: string, seconds: number): void {
  const hook = join(repoPath, 'hooks', 'pre-receive')
  writeFileSync(hook, `#!/bin/sh\ncat >/dev/null\nsleep ${seconds}\n`)
  chmodSync(hook, 0o755)
}

/** Processes (pid and command line) whose command line contains `text`, other than `ps` itself. */
export function processesWith(text: string): { pid: number; args: string }[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), args: m[2] }))
    .filter((p) => p.args.includes(text) && p.pid !== process.pid && !p.args.startsWith('ps '))
}

export interface GuardedRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Milliseconds from start to exit. */
  ms: number
  /** True when the guard had to kill it (it did not end by itself in time). */
  killedByGuard: boolean
}

/**
 * Runs `dist/<entry>/index.js args…` in its own process group. `signalWhen` sends a signal to the
 * process (not its group, as a runner or `kill PID` does) once its output (stdout or stderr) matches; the guard kills the
 * whole group after `guardMs` so a hang fails the test instead of stalling the suite.
 */
export function runGuarded(
  entry: string,
  args: string[],
  options: {
    env: NodeJS.ProcessEnv
    cwd: string
    guardMs: number
    signalWhen?: { output: RegExp; signal: NodeJS.Signals }
  },
): Promise<GuardedRun> {
  const started = Date.now()
  const child = spawn(process.execPath, [dist(entry), ...args], {
    env: options.env,
    cwd: options.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let signalled = false
  let killedByGuard = false
  const watch = (): void => {
    const when = options.signalWhen
    if (when && !signalled && when.output.test(`${stdout}\n${stderr}`)) {
      signalled = true
      child.kill(when.signal)
    }
  }
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    watch()
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
    watch()
  })
  const guard = setTimeout(() => {
    killedByGuard = true
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }, options.guardMs)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(guard)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, killedByGuard })
    })
  })
}
