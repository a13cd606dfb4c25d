/** Runs the pinned kubectl as a test would: a given kubeconfig, its own cache and HOME, no user's files. */
import { execFile } from 'node:child_process'
import { kubectl } from './paths.js'

export interface KubectlRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `kubectl --kubeconfig <kubeconfig> --cache-dir <cacheDir> …args`; never throws on a failure. */
export function runKubectl(
  kubeconfig: string,
  cacheDir: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<KubectlRun> {
  const argv = ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args]
  return new Promise((resolve) => {
    execFile(
      kubectl,
      argv,
      { env: { PATH: process.env.PATH, HOME: cacheDir, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}
