/**
 * What must not outlive the process: temp folders holding a clone or an SSH key, and child process
 * groups. Each is registered while it exists and unregistered when removed on the normal path; a CI step
 * or CLI run told to stop (SIGTERM, SIGINT, SIGHUP: a cancelled job, Ctrl-C, a closed terminal) removes
 * what is still registered before it exits. The work is synchronous on purpose: a signal handler that
 * awaits may be cut short by the next signal or the runner's SIGKILL.
 */
import { rmSync } from 'node:fs'

type Cleanup = () => void

const cleanups = new Set<Cleanup>()

/** Registers `cleanup` until the returned function is called (on the normal path). */
export function registerCleanup(cleanup: Cleanup): () => void {
  cleanups.add(cleanup)
  return () => {
    cleanups.delete(cleanup)
  }
}

/** Registers a folder to remove; the returned function unregisters it (the caller removes it itself). */
export function registerTempDir(dir: string): () => void {
  return registerCleanup(() => rmSync(dir, { recursive: true, force: true }))
}

/** Runs every registered cleanup now, newest first; one failing does not stop the others. */
export function runCleanups(): void {
  const all = [...cleanups].reverse()
  cleanups.clear()
  for (const cleanup of all) {
    try {
      cleanup()
    } catch {
      // best effort: the others still run
    }
  }
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const
let installed = false

/**
 * For short-lived entry points (actions, CLI): on a stop signal, run the cleanups, then die of the same
 * signal so the caller sees how it ended. The agent handles its signals itself (it stops gracefully).
 */
export function cleanUpOnStopSignals(): void {
  if (installed) return
  installed = true
  for (const signal of STOP_SIGNALS) {
    process.once(signal, () => {
      runCleanups()
      // The handler was `once`: the default action (termination) now applies.
      process.kill(process.pid, signal)
    })
  }
}
