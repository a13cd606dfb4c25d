/**
 * Clone and fetch retry like every other network call: a bounded number of attempts with jittered
 * back-off, and none for what cannot succeed on retry (a refused login, a missing repository or branch,
 * a host key that does not match, a command our own limits killed, a mistake on this side).
 */
import { Backoff } from '../backoff.js'
import { sleep } from '../concurrency.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../log.js'
import { limitOf } from '../process/run.js'
import { AUTH_FAILED, GitCommandError } from './exec.js'

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number
  /** The first wait's bound, doubled after each failure up to `capMs`; equal jitter. */
  baseMs: number
  capMs: number
}

export const NETWORK_RETRY: RetryPolicy = { attempts: 3, baseMs: 1000, capMs: 4000 }

/** What git says when the repository or the ref is not there. */
const NOT_FOUND =
  /repository .* not found|Repository not found|does not appear to be a git repository|returned error: 404|project you were looking for could not be found|Remote branch .* not found|couldn't find remote ref|not our ref/i

/** What ssh says when the host's key is not the one pinned. */
const HOST_KEY =
  /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed|No \S+ host key is known/i

/** Mistakes on this side that no retry mends. */
const LOCAL =
  /already exists and is not an empty directory|invalid refspec|unknown option|not a git repository/i

/** False for a failure that would fail again the same way. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof GitCommandError) || limitOf(error) !== undefined) return false
  const message = errorMessage(error)
  return ![AUTH_FAILED, NOT_FOUND, HOST_KEY, LOCAL].some((pattern) => pattern.test(message))
}

/**
 * Runs `attempt` until it succeeds, fails in a way no retry mends, or has been tried
 * `policy.attempts` times; each retry is logged with what failed and how long it waits.
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  log: Logger,
  policy: RetryPolicy = NETWORK_RETRY,
): Promise<T> {
  const backoff = new Backoff({ baseMs: policy.baseMs, capMs: policy.capMs, jitter: 'equal' })
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (error) {
      if (n >= policy.attempts || !isRetryable(error)) throw error
      const wait = backoff.next()
      log.warn(
        `${errorMessage(error)} (attempt ${n} of ${policy.attempts}); retrying in ${(wait / 1000).toFixed(1)} s`,
      )
      await sleep(wait)
    }
  }
}
