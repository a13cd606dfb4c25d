/**
 * The one way library code starts programs (kustomize, git, exec credential plugins): no shell,
 * arguments as an array, and every child bounded. Each runs in its own process group, so that a limit
 * kills what it started too (git's ssh and remote helpers, kustomize's plugins), and the group is
 * registered with the cleanup registry while it runs, so a run told to stop leaves no child behind.
 *
 * Memory is watched, not capped with `ulimit -v`/`prlimit --as`: Go programs (kubectl, kustomize) reserve
 * ~750 MiB of address space before they start (measured: kubectl 1.32 fails to start under 700 MiB of
 * virtual memory, and runs at 46 MiB RSS), so a virtual-memory cap either breaks them or caps nothing.
 * A watchdog sums the resident memory of the group from /proc every 100 ms instead (Linux; elsewhere
 * the time and output limits still hold).
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { registerCleanup } from './cleanup.js'

export interface ProcessResult {
  code: number
  stdout: Buffer
  stderr: string
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Given on stdin; without it, stdin is /dev/null (no prompt can wait for an answer). */
  input?: string
  /** Kill the group after this long. */
  timeoutMs?: number
  /** Kill the group when its resident memory passes this (Linux). */
  memoryLimitMB?: number
  /** Kill the group when stdout passes this; default 256 MiB. */
  maxOutputBytes?: number
  /** Kill the group when this aborts. */
  signal?: AbortSignal
  /** What ran, for errors: `kustomize build apps/web`. Default: the program's name. */
  label?: string
  /** The input or flag that sets the time limit, named in its error: `kustomize-timeout`. */
  timeoutSetting?: string
  /** The input or flag that sets the memory limit, named in its error. */
  memorySetting?: string
}

export type LimitReason = 'timeout' | 'memory' | 'output' | 'stopped'

/** A child killed for passing a limit (or because the run is stopping). */
export class ProcessLimitError extends Error {
  constructor(
    message: string,
    readonly reason: LimitReason,
    /** What the child had written to stderr before it was killed (its tail). */
    readonly stderr: string,
  ) {
    super(message)
    this.name = 'ProcessLimitError'
  }
}

const MiB = 1024 * 1024
const DEFAULT_MAX_OUTPUT = 256 * MiB
/** Of stderr, only the last part is kept: it is for messages. */
const MAX_STDERR = 64 * 1024
/** After a kill, how long to wait for the pipes to close (a child in a group of its own may hold them). */
const KILL_GRACE_MS = 2000

/**
 * The limit that killed a child, read from its error or from an error that wraps it (`cause`): git and
 * kustomize put the runner's error into their own, so every caller tells a limit the same way.
 */
export function limitOf(error: unknown): LimitReason | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof ProcessLimitError) return e.reason
  }
  return undefined
}

/** Every running child's kill, to stop them all at once (the agent's SIGTERM). */
const running = new Set<() => void>()

/** Kills every child running now (each rejects as stopped). */
export function stopChildren(): void {
  for (const stop of [...running]) stop()
}

/**
 * Runs `command args…` within the limits; resolves with its exit code and output whatever the code.
 * Rejects when it cannot start, or with a `ProcessLimitError` when a limit killed it.
 */
export function runProcess(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  const label = options.label ?? command.split('/').pop()!
  const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(limitError('stopped', label, options, ''))
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Its own process group: one kill reaches everything it starts.
      detached: true,
    })
    const out: Buffer[] = []
    let outBytes = 0
    let err = ''
    let killed: LimitReason | undefined
    let settled = false
    const stops: (() => void)[] = []

    const finish = (result: ProcessResult | Error) => {
      if (settled) return
      settled = true
      for (const stop of stops) stop()
      if (result instanceof Error) reject(result)
      else resolve(result)
    }
    const kill = (reason: LimitReason) => {
      if (killed || settled) return
      killed = reason
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
      // Normally the pipes close at once; a grandchild that left the group may still hold them.
      const grace = setTimeout(() => {
        child.stdout?.destroy()
        child.stderr?.destroy()
        finish(limitError(reason, label, options, err))
      }, KILL_GRACE_MS)
      grace.unref()
    }

    child.on('error', (error) =>
      finish(new Error(`${label}: cannot run ${command}: ${error.message}`)),
    )
    if (child.pid === undefined) return // 'error' follows
    // The child stopping early closes its stdin: its exit code says why, not the write's EPIPE.
    child.stdin?.on('error', () => undefined)
    child.stdin?.end(options.input)
    child.stdout!.on('data', (d: Buffer) => {
      if (killed) return
      outBytes += d.length
      if (outBytes > maxOutput) return kill('output')
      out.push(d)
    })
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString('utf8')).slice(-MAX_STDERR)
    })

    // Limits, each undone when the child ends.
    const stop = () => kill('stopped')
    running.add(stop)
    stops.push(() => running.delete(stop))
    stops.push(registerCleanup(stop))
    if (options.signal) {
      options.signal.addEventListener('abort', stop, { once: true })
      stops.push(() => options.signal!.removeEventListener('abort', stop))
    }
    if (options.timeoutMs) {
      const timer = setTimeout(() => kill('timeout'), options.timeoutMs)
      stops.push(() => clearTimeout(timer))
    }
    if (options.memoryLimitMB) {
      stops.push(watchMemory(child.pid, options.memoryLimitMB * MiB, () => kill('memory')))
    }

    child.on('close', (code, signal) => {
      if (killed) return finish(limitError(killed, label, options, err))
      finish({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: err })
    })
  })
}

/** `runProcess` with stdout as UTF-8 text. */
export async function runCommand(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const r = await runProcess(command, args, options)
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr }
}

function limitError(
  reason: LimitReason,
  label: string,
  options: RunOptions,
  stderr: string,
): ProcessLimitError {
  const setting = (name?: string) => (name ? ` (${name})` : '')
  const what = {
    timeout: `did not finish within ${seconds(options.timeoutMs ?? 0)} s${setting(options.timeoutSetting)}`,
    memory: `used more than ${options.memoryLimitMB} MiB of memory${setting(options.memorySetting)}`,
    output: `wrote more than ${formatMiB(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT)} of output`,
    stopped: 'was stopped (shutting down)',
  }[reason]
  return new ProcessLimitError(`${label} ${what}; killed`, reason, stderr)
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10)
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / MiB) * 10) / 10} MiB`
}

// Memory watchdog: one scan of /proc per tick for every watched group.

const watched = new Map<number, { limit: number; exceeded: () => void }>()
let ticker: NodeJS.Timeout | undefined
const TICK_MS = 100

function watchMemory(pgid: number, limitBytes: number, exceeded: () => void): () => void {
  if (process.platform !== 'linux') return () => undefined
  watched.set(pgid, { limit: limitBytes, exceeded })
  ticker ??= setInterval(scan, TICK_MS).unref()
  return () => {
    watched.delete(pgid)
    if (watched.size === 0 && ticker) {
      clearInterval(ticker)
      ticker = undefined
    }
  }
}

function scan(): void {
  const rss = new Map<number, number>()
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return
  }
  for (const pid of pids) {
    const group = groupOf(pid)
    if (group === undefined || !watched.has(group)) continue
    rss.set(group, (rss.get(group) ?? 0) + residentBytes(pid))
  }
  for (const [group, bytes] of rss) {
    const watch = watched.get(group)
    if (watch && bytes > watch.limit) watch.exceeded()
  }
}

/** The process group of a process, from /proc/<pid>/stat (after the command name, which may hold spaces). */
function groupOf(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[2])
  } catch {
    return undefined // gone meanwhile
  }
}

/** Resident memory in bytes (VmRSS, in kB in /proc/<pid>/status: no page size to guess). */
function residentBytes(pid: string): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}
