/** The commit time of the source commit, read from the checkout the step runs in, when it is there. */
import { execFileSync } from 'node:child_process'

export function sourceCommitTime(commit: string | undefined): string | undefined {
  if (!commit || !/^[0-9a-f]{7,64}$/i.test(commit)) return undefined
  try {
    const out = execFileSync('git', ['show', '-s', '--format=%cI', commit], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    })
    return out.toString().trim() || undefined
  } catch {
    return undefined
  }
}
