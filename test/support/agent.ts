/**
 * The sync agent (dist/agent) as the tests run it against the test API server: its flags, and a running
 * agent whose output lines can be waited for.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Remote } from './git.js'
import type { KubeApiServer } from './kube-api/index.js'
import { dist } from './paths.js'
import { tempDir } from './tmp.js'

/** The agent's own namespace in the tests. */
export const AGENT_NS = 'gitops-system'

/** The flags every test gives: the remote's releases/staging, the server, text logs, a fresh work dir. */
export function agentArgs(
  server: KubeApiServer,
  remote: Remote,
  extra: string[] = [],
  workDir = tempDir('gitops-agent-'),
): string[] {
  return [
    '--git-url',
    remote.url,
    '--git-path',
    'releases/staging',
    '--kubeconfig',
    server.kubeconfigPath,
    '--namespace',
    AGENT_NS,
    '--log-format',
    'text',
    '--work-dir',
    workDir,
    ...extra,
  ]
}

/** An agent process (running, or `--once` when the flags say so): its output lines, and waits on them. */
export class RunningAgent {
  readonly lines: string[] = []
  /** Undefined while it runs; once it has exited, its code (null when a signal ended it). */
  exitCode?: number | null
  private readonly child: ChildProcess
  private readonly exited: Promise<number | null>

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [dist('agent'), ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let rest = ''
    this.child.stdout!.on('data', (d: Buffer) => {
      const parts = (rest + d.toString()).split('\n')
      rest = parts.pop()!
      this.lines.push(...parts)
    })
    this.child.stderr!.on('data', (d: Buffer) => this.lines.push(d.toString()))
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        this.exitCode = code
        resolve(code)
      }),
    )
  }

  get output(): string {
    return this.lines.join('\n')
  }

  count(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l)).length
  }

  async waitFor(pattern: RegExp, times = 1, timeoutMs = 20_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const found = this.lines.filter((l) => pattern.test(l))
      if (found.length >= times) return pattern.exec(found[times - 1])!
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`timed out waiting for ${pattern} ×${times}; output:\n${this.output}`)
  }

  /** Stops it (SIGTERM, or SIGKILL to cut it off mid-work); its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.child.kill(signal)
    return this.exited
  }
}
