/**
 * Running the git binary: through the one process runner, with an environment of our own, a time limit,
 * and errors that say what git said without the credentials it may have echoed.
 */
import { errorMessage } from '../errors.js'
import { ProcessLimitError, runProcess, type ProcessResult } from '../process/run.js'

/**
 * A git command that failed; its message says what was being done and what git said. When a limit of
 * the process runner killed git, its `ProcessLimitError` is the cause (see `limitOf`).
 */
export class GitCommandError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'GitCommandError'
  }
}

/**
 * Without a caller's limit, each git command gets this long: a remote that never answers must not hang
 * a publish (or its ssh and remote helpers outlive it).
 */
const DEFAULT_TIMEOUT_MS = 10 * 60_000

/**
 * The caller's environment without what must not reach git: the identity comes from commit(), the
 * repository from the clone, and editors, pagers, prompts and extra config would make runs differ by
 * machine. Proxy and TLS settings for HTTPS remotes are kept.
 */
export function gitEnvironment(): Record<string, string> {
  const keep =
    /^GIT_(SSL_CAINFO|SSL_CAPATH|HTTP_LOW_SPEED_\w+|TRACE\w*|CURL_VERBOSE|CONFIG_NOSYSTEM)$/i
  const drop = /^(GIT_\w+|EDITOR|VISUAL|PAGER|PREFIX|SSH_ASKPASS)$/i
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (keep.test(key) || !drop.test(key))) env[key] = value
  }
  return env
}

export interface ExecGitOptions {
  cwd: string
  env: Record<string, string>
  timeoutMs?: number
  input?: string
  maxOutputBytes?: number
}

/**
 * Runs git in `cwd` through the process runner; resolves with its stdout, rejects with a
 * `GitCommandError` holding what it said. Stdin is only the given `input` (no prompt can hang a job).
 * After `timeoutMs` its whole process group is killed: ssh or a remote helper holding the pipes would
 * otherwise keep the command, and every later one on the clone, waiting.
 */
export async function execGit(args: string[], options: ExecGitOptions): Promise<Buffer> {
  let r: ProcessResult
  try {
    r = await runProcess('git', args, {
      cwd: options.cwd,
      env: options.env,
      input: options.input,
      maxOutputBytes: options.maxOutputBytes,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      label: 'git',
    })
  } catch (error) {
    if (!(error instanceof ProcessLimitError)) throw new GitCommandError(errorMessage(error))
    const said = error.stderr.trim()
    throw new GitCommandError(`${error.message}${said ? `: ${said}` : ''}`, { cause: error })
  }
  if (r.code === 0) return r.stdout
  // Both streams: `push --porcelain` tells a rejection on stdout, the reason on stderr; only the tail
  // of a long output.
  const said = [r.stderr.trim(), r.stdout.toString('utf8').trim().slice(-2000)]
    .filter(Boolean)
    .join('\n')
  throw new GitCommandError(said || `git exited with code ${r.code}`)
}

/** Removes anything that looks like credentials from git's messages. */
export function redact(message: string): string {
  return message
    .replace(/(https?:\/\/)[^@\s/]+@/gi, '$1')
    .replace(/(AUTHORIZATION: basic )\S+/gi, '$1***')
}

/** What git says when the remote refused the login. */
export const AUTH_FAILED =
  /could not read Username|Authentication failed|HTTP Basic: Access denied|Permission denied \(publickey|returned error: 40[13]/i

/**
 * A failed git command as the error callers see: what was being done, what git said (redacted), a hint
 * when the login was refused, and the limit that killed it, if one did.
 */
export function describeFailure(error: unknown, what: string): GitCommandError {
  const message = redact(errorMessage(error)).trim()
  const hint = AUTH_FAILED.test(message)
    ? ' (the remote refused the credentials: check the token or ssh-key, and that it may access this repository)'
    : ''
  return new GitCommandError(`git failed to ${what}: ${message}${hint}`, { cause: error })
}
