/**
 * The one git wrapper. Everything that touches git goes through `GitClient` (the git binary run directly,
 * arguments as arrays, never a shell, one command at a time per clone). Credentials are never written into `.git/config`: a token rides on
 * each command as an `http.extraheader` passed in the environment, and an SSH key lives in a private temp folder with a
 * pinned known_hosts file, both removed by `dispose()`.
 */
import { existsSync, promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigurationError, errorMessage } from '../errors.js'
import type { Logger } from '../log.js'
import { registerTempDir } from '../process/cleanup.js'
import { ProcessLimitError, runProcess, type ProcessResult } from '../process/run.js'
import { GITHUB_KNOWN_HOSTS, isGithubSsh } from './known-hosts.js'
import { redactUrl, splitUrlCredentials, transportOf } from './remote.js'

/** How to reach a remote. */
export interface GitAuth {
  /** A token for HTTPS remotes (GitHub: any token; GitLab: a job or access token). */
  token?: string
  /** The user name sent with the token (default `x-access-token`; GitLab CI job tokens need `gitlab-ci-token`). */
  tokenUser?: string
  /** An OpenSSH private key, for SSH remotes. */
  sshKey?: string
  /** known_hosts lines for the SSH host; GitHub's published keys are built in. */
  knownHosts?: string
}

/** One line of `git ls-tree`: a blob (file), tree (folder) or commit (submodule). */
export interface TreeEntry {
  path: string
  /** `100644`, `100755`, `120000` (a symlink), `040000`, `160000`. */
  mode: string
  type: string
  hash: string
  /** A blob's size in bytes (`git ls-tree -l`); 0 for folders and submodules. */
  size: number
  /**
   * Set when the path is not UTF-8: how many of its `/`-separated names come before the first that
   * is not. Such a name is shown with its bytes escaped (`\xff`); two of them never read as one.
   */
  notUtf8At?: number
}

export interface Identity {
  name: string
  email: string
}

/** Thrown when the remote refused a push because its branch moved (someone else pushed first). */
export class PushRejectedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PushRejectedError'
  }
}

/** Prepared credentials: environment and `-c` options for every git command, and files to remove. */
interface Credentials {
  env: Record<string, string>
  dispose(): Promise<void>
}

async function prepareCredentials(url: string, auth: GitAuth, log: Logger): Promise<Credentials> {
  const transport = transportOf(url)
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0' }
  let dir: string | undefined
  let unregister: (() => void) | undefined
  if (transport === 'ssh') {
    const knownHosts =
      auth.knownHosts?.trim() || (isGithubSsh(url) ? GITHUB_KNOWN_HOSTS.join('\n') : '')
    if (!knownHosts) {
      throw new ConfigurationError(
        `known-hosts is required for the SSH remote ${url} (only GitHub's host keys are built in); ` +
          `give the host's public key line(s), e.g. from 'ssh-keyscan -p PORT host' checked out of band`,
      )
    }
    dir = await fs.mkdtemp(join(tmpdir(), 'gitops-ssh-'))
    // The key must not outlive a run stopped by a signal.
    unregister = registerTempDir(dir)
    await fs.chmod(dir, 0o700)
    const knownHostsFile = join(dir, 'known_hosts')
    await fs.writeFile(knownHostsFile, `${knownHosts}\n`, { mode: 0o600 })
    const args = [
      'ssh',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${shellQuote(knownHostsFile)}`,
      '-o',
      'ConnectTimeout=30',
    ]
    if (auth.sshKey) {
      const keyFile = join(dir, 'key')
      const key = auth.sshKey.endsWith('\n') ? auth.sshKey : `${auth.sshKey}\n`
      await fs.writeFile(keyFile, key, { mode: 0o600 })
      args.push('-i', shellQuote(keyFile), '-o', 'IdentitiesOnly=yes')
    }
    env.GIT_SSH_COMMAND = args.join(' ')
  } else if (auth.token && (transport === 'https' || transport === 'http')) {
    const basic = Buffer.from(`${auth.tokenUser ?? 'x-access-token'}:${auth.token}`).toString(
      'base64',
    )
    // Through the environment, not `-c` on the command line, where other users of the machine could
    // read it with ps; and never into .git/config.
    env.GIT_CONFIG_COUNT = '1'
    env.GIT_CONFIG_KEY_0 = 'http.extraheader'
    env.GIT_CONFIG_VALUE_0 = `AUTHORIZATION: basic ${basic}`
  } else if (auth.token) {
    log.debug(`a token is not used for the ${transport} remote ${redactUrl(url)}`)
  }
  const created = dir
  return {
    env,
    dispose: async () => {
      if (created) await fs.rm(created, { recursive: true, force: true })
      unregister?.()
    },
  }
}

/**
 * The URL git is given (without user info) and the auth to use: credentials in an http(s) URL are sent
 * like a token (a header from the environment), so they never reach `.git/config`. An explicit token
 * wins over one in the URL.
 */
function credentialsFromUrl(url: string, auth: GitAuth = {}): { url: string; auth: GitAuth } {
  const split = splitUrlCredentials(url)
  if (split.url === url || auth.token) return { url: split.url, auth }
  // `https://token@host/…` (a token as the user name) or `https://user:token@host/…`.
  if (split.password !== undefined)
    return { url: split.url, auth: { ...auth, token: split.password, tokenUser: split.user ?? '' } }
  if (split.user) return { url: split.url, auth: { ...auth, token: split.user } }
  return { url: split.url, auth }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/**
 * The caller's environment without what must not reach git: the identity comes from commit(), the
 * repository from the clone, and editors, pagers, prompts and extra config would make runs differ by
 * machine. Proxy and TLS settings for HTTPS remotes are kept.
 */
function gitEnvironment(): Record<string, string> {
  const keep =
    /^GIT_(SSL_CAINFO|SSL_CAPATH|HTTP_LOW_SPEED_\w+|TRACE\w*|CURL_VERBOSE|CONFIG_NOSYSTEM)$/i
  const drop = /^(GIT_\w+|EDITOR|VISUAL|PAGER|PREFIX|SSH_ASKPASS)$/i
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (keep.test(key) || !drop.test(key))) env[key] = value
  }
  return env
}

/** What git says when the remote refused the login. */
const AUTH_FAILED =
  /could not read Username|Authentication failed|HTTP Basic: Access denied|Permission denied \(publickey|returned error: 40[13]/i

/** Messages of a rejected, non-fast-forward push, in the words of git and of the common hosts. */
const REJECTED =
  /\[rejected\]|non-fast-forward|fetch first|failed to update ref|cannot lock ref|stale info|incorrect old value/i

/**
 * Without a caller's limit, each git command gets this long: a remote that never answers must not hang
 * a publish (or its ssh and remote helpers outlive it).
 */
const DEFAULT_TIMEOUT_MS = 10 * 60_000

/**
 * Runs git in `cwd` through the process runner; resolves with its stdout, rejects with what it said.
 * Stdin is only the given `input` (no prompt can hang a job). After `timeoutMs` its whole process group
 * is killed: ssh or a remote helper holding the pipes would otherwise keep the command, and every later
 * one on the clone, waiting.
 */
async function execGit(
  args: string[],
  options: {
    cwd: string
    env: Record<string, string>
    timeoutMs?: number
    input?: string
    maxOutputBytes?: number
  },
): Promise<Buffer> {
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
    const said = error instanceof ProcessLimitError ? error.stderr.trim() : ''
    throw new Error(`${errorMessage(error)}${said ? `: ${said}` : ''}`)
  }
  if (r.code === 0) return r.stdout
  // Both streams: `push --porcelain` tells a rejection on stdout, the reason on stderr; only the tail
  // of a long output.
  const said = [r.stderr.trim(), r.stdout.toString('utf8').trim().slice(-2000)]
    .filter(Boolean)
    .join('\n')
  throw new Error(said || `git exited with code ${r.code}`)
}

// ignoreBOM: a leading U+FEFF stays part of the name (dropped, "\uFEFFa" would read as "a").
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * A path from git as text. One that is not UTF-8 keeps each byte of its names that are not as `\xNN`,
 * and says which name is the first of them (see `TreeEntry.notUtf8At`).
 */
function decodePath(bytes: Buffer): { path: string; notUtf8At?: number } {
  try {
    return { path: strictUtf8.decode(bytes) }
  } catch {
    // "/" is never part of a longer UTF-8 sequence: names can be decoded one by one.
    let notUtf8At: number | undefined
    const names = bytes
      .toString('latin1')
      .split('/')
      .map((latin1, i) => {
        const name = Buffer.from(latin1, 'latin1')
        try {
          return strictUtf8.decode(name)
        } catch {
          notUtf8At ??= i
          // A backslash is escaped too: two different names never read the same.
          const escape = (b: number) =>
            b === 0x5c ? '\\\\' : b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16)}`
          return [...name].map(escape).join('')
        }
      })
    return { path: names.join('/'), notUtf8At }
  }
}

/** A working clone of one remote branch, and the git commands run on it. */
export class GitClient {
  /** The command running now: commands on one clone run one after another. */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    readonly dir: string,
    readonly url: string,
    private readonly env: Record<string, string>,
    private readonly timeoutMs: number | undefined,
    private readonly credentials: Credentials,
    private readonly log: Logger,
  ) {}

  /** Runs one git command in the clone, after those already started. */
  private async raw(args: string[]): Promise<string> {
    return (await this.rawBytes(args)).toString('utf8')
  }

  private rawBytes(args: string[], input?: string, maxOutputBytes?: number): Promise<Buffer> {
    const run = this.queue.then(() =>
      execGit(args, {
        cwd: this.dir,
        env: this.env,
        timeoutMs: this.timeoutMs,
        input,
        maxOutputBytes,
      }),
    )
    this.queue = run.catch(() => undefined)
    return run
  }

  /** A client on `dir` whose every git command carries the credentials. */
  private static make(
    dir: string,
    url: string,
    credentials: Credentials,
    log: Logger,
    timeoutMs?: number,
  ): GitClient {
    // GIT_SSH_COMMAND and the GIT_CONFIG_* header are built here (a temp key file and pinned known_hosts;
    // the token's header), never taken from user input as they are.
    const env = { ...gitEnvironment(), ...credentials.env }
    return new GitClient(dir, url, env, timeoutMs, credentials, log)
  }

  /**
   * Clones `branch` of `url` into `dir` (created), shallowly unless `depth` is 0. The default branch is
   * asked of the remote when `branch` is not given.
   */
  static async clone(
    options: {
      url: string
      dir: string
      branch?: string
      depth?: number
      /** false: the work tree stays empty; files are read from git's objects (see `readBlobs`). */
      checkout?: boolean
      auth?: GitAuth
      timeoutMs?: number
    },
    log: Logger,
  ): Promise<GitClient> {
    options = { ...options, ...credentialsFromUrl(options.url, options.auth) }
    if (options.url.startsWith('-')) {
      // git would take it for an option (`--upload-pack=<command>` runs a command).
      throw new ConfigurationError(
        `repository: '${redactUrl(options.url)}' is not a repository URL (it starts with '-')`,
      )
    }
    const credentials = await prepareCredentials(options.url, options.auth ?? {}, log)
    try {
      await fs.mkdir(options.dir, { recursive: true })
      const client = GitClient.make(options.dir, options.url, credentials, log, options.timeoutMs)
      const depth = options.depth ?? 1
      // Without a branch, git clones the remote's default branch (its HEAD): no extra round trip.
      const what = `${redactUrl(options.url)} (branch ${options.branch ?? '(default)'}${depth ? `, depth ${depth}` : ''})`
      log.info(`Cloning ${what}`)
      await client.run(
        [
          'clone',
          '--quiet',
          '--no-tags',
          '--single-branch',
          ...(options.branch ? ['--branch', options.branch] : []),
          ...(depth ? ['--depth', String(depth)] : []),
          ...(options.checkout === false ? ['--no-checkout'] : []),
          // `--`: whatever the URL holds, it is never read as an option.
          '--',
          options.url,
          '.',
        ],
        `clone ${what}`,
      )
      if (!options.branch && !(await client.resolveCommit('HEAD'))) {
        throw new ConfigurationError(
          `${redactUrl(options.url)} is empty (no default branch); set the branch input`,
        )
      }
      return client
    } catch (error) {
      await credentials.dispose()
      throw error
    }
  }

  /**
   * Opens a clone made earlier (by `clone`) in `dir`, if it is one of `url`; undefined otherwise. Lets a
   * restarted process fetch what changed instead of cloning again.
   */
  static async open(
    options: { url: string; dir: string; auth?: GitAuth; timeoutMs?: number },
    log: Logger,
  ): Promise<GitClient | undefined> {
    if (!existsSync(join(options.dir, '.git'))) return undefined
    // An origin stored with user info (by an older version) differs, so that clone is replaced.
    options = { ...options, ...credentialsFromUrl(options.url, options.auth) }
    const credentials = await prepareCredentials(options.url, options.auth ?? {}, log)
    const client = GitClient.make(options.dir, options.url, credentials, log, options.timeoutMs)
    try {
      const origin = (await client.run(['remote', 'get-url', 'origin'], 'read the origin')).trim()
      if (origin === options.url) return client
    } catch {
      // not a usable clone: the caller clones afresh
    }
    await credentials.dispose()
    return undefined
  }

  /** Runs git; a failure becomes an error that says what was being done. */
  async run(args: string[], what: string): Promise<string> {
    return (await this.runBytes(args, what)).toString('utf8')
  }

  /** `run` for output that is not text (file contents), with `input` on stdin. */
  private async runBytes(
    args: string[],
    what: string,
    input?: string,
    maxOutputBytes?: number,
  ): Promise<Buffer> {
    this.log.debug(redact(`git ${args.join(' ')}`))
    try {
      return await this.rawBytes(args, input, maxOutputBytes)
    } catch (error) {
      const message = redact(errorMessage(error)).trim()
      const hint = AUTH_FAILED.test(message)
        ? ' (the remote refused the credentials: check the token or ssh-key, and that it may access this repository)'
        : ''
      throw new GitCommandError(`git failed to ${what}: ${message}${hint}`)
    }
  }

  /** Fetches `branch` (all new commits, keeping any history already here) and resets the work tree to it. */
  async resetToRemote(branch: string): Promise<string> {
    await this.run(
      [
        'fetch',
        '--quiet',
        '--no-tags',
        'origin',
        `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
      ],
      `fetch ${branch}`,
    )
    await this.run(
      ['reset', '--quiet', '--hard', `refs/remotes/origin/${branch}`],
      `reset to origin/${branch}`,
    )
    // Untracked files: none in a clone only this tool writes to, but a publish retry makes sure.
    await this.run(['clean', '-q', '-fdx'], 'clean the work tree')
    return this.head()
  }

  /** Fetches `depth` more commits of history (or all of it); false when there was nothing more. */
  async deepen(depth: number | 'all'): Promise<boolean> {
    if (!(await this.isShallow())) return false
    const args =
      depth === 'all'
        ? ['fetch', '--quiet', '--no-tags', '--unshallow', 'origin']
        : ['fetch', '--quiet', '--no-tags', `--deepen=${depth}`, 'origin']
    await this.run(args, 'fetch more history')
    return true
  }

  /**
   * The commits at the shallow boundary. `git log -- <path>` lists a boundary commit whatever it changed
   * (its parent is missing, so everything looks added): a history read from a shallow clone must leave
   * them out until more history is fetched.
   */
  async shallowBoundary(): Promise<Set<string>> {
    try {
      const text = await fs.readFile(join(this.dir, '.git', 'shallow'), 'utf8')
      return new Set(text.split('\n').filter(Boolean))
    } catch {
      return new Set()
    }
  }

  async isShallow(): Promise<boolean> {
    return (
      (await this.run(['rev-parse', '--is-shallow-repository'], 'inspect the clone')).trim() ===
      'true'
    )
  }

  /** The branch checked out. */
  async branch(): Promise<string> {
    return (await this.run(['rev-parse', '--abbrev-ref', 'HEAD'], 'read the branch')).trim()
  }

  async head(): Promise<string> {
    return (await this.run(['rev-parse', 'HEAD'], 'read HEAD')).trim()
  }

  /** Stages everything under `path` (additions, changes and removals). */
  async addAll(path: string): Promise<void> {
    await this.run(['add', '--all', '--', path], `stage ${path}`)
  }

  /** True when the index differs from HEAD under `path`. */
  async hasStagedChanges(path: string): Promise<boolean> {
    const out = await this.run(['diff', '--cached', '--name-only', '--', path], 'compare with HEAD')
    return out.trim() !== ''
  }

  /** Commits what is staged, with the given author as author and committer. */
  async commit(message: string, author: Identity): Promise<string> {
    await this.run(
      [
        '-c',
        `user.name=${author.name}`,
        '-c',
        `user.email=${author.email}`,
        'commit',
        '--quiet',
        '--no-verify',
        '--no-gpg-sign',
        '-m',
        message,
      ],
      'commit',
    )
    return this.head()
  }

  /**
   * Pushes HEAD to `branch`. A rejection because the branch moved is a `PushRejectedError` (the caller
   * fetches and re-applies); anything else is a plain error. `lease` makes it a force-with-lease push
   * (only ever used on the tool's own pull-request branches).
   */
  async push(branch: string, options: { lease?: string } = {}): Promise<void> {
    const args = ['push', '--quiet', '--porcelain', 'origin']
    if (options.lease !== undefined)
      args.push(`--force-with-lease=refs/heads/${branch}:${options.lease}`)
    args.push(`HEAD:refs/heads/${branch}`)
    try {
      await this.run(args, `push to ${branch}`)
    } catch (error) {
      const message = errorMessage(error)
      if (REJECTED.test(message)) throw new PushRejectedError(message)
      throw error
    }
  }

  /** The commit a remote branch points at, or undefined when it does not exist. */
  async remoteBranchCommit(branch: string): Promise<string | undefined> {
    const out = await this.run(['ls-remote', 'origin', `refs/heads/${branch}`], `look up ${branch}`)
    return out.trim() ? out.trim().split(/\s+/)[0] : undefined
  }

  /** A file of another branch of the remote (fetched shallowly), or undefined when either is missing. */
  async remoteBranchFile(branch: string, path: string): Promise<string | undefined> {
    if (!(await this.remoteBranchCommit(branch))) return undefined
    const ref = `refs/gitops-actions/${branch}`
    await this.run(
      ['fetch', '--quiet', '--no-tags', '--depth', '1', 'origin', `+refs/heads/${branch}:${ref}`],
      `fetch ${branch}`,
    )
    try {
      return await this.raw(['show', `${ref}:${path}`])
    } catch {
      return undefined
    }
  }

  /** `git log` of `path` as records of hash, subject, body and commit time, newest first. */
  async history(path: string, range = 'HEAD'): Promise<CommitInfo[]> {
    const out = await this.run(
      ['log', '--format=%H%x1f%cI%x1f%B%x1e', range, '--', path],
      `read the history of ${path}`,
    )
    return out
      .split('\x1e')
      .map((r) => r.trim())
      .filter((r) => r !== '')
      .map((r) => {
        const [hash, time, message] = r.split('\x1f')
        return { hash, time, message: message.trim() }
      })
  }

  /**
   * Every file and folder under `path` at `commit`, recursively, in git's order, with git's modes,
   * object hashes and blob sizes (`git ls-tree -r -t -l`). Paths are relative to the repository's root.
   */
  async listTree(commit: string, path: string): Promise<TreeEntry[]> {
    const out = await this.runBytes(
      [
        // A path is a path, never pathspec magic (`:x`).
        '--literal-pathspecs',
        'ls-tree',
        '-r',
        '-t',
        '-l',
        '-z',
        '--full-tree',
        commit,
        ...(path ? ['--', `${path}/`] : []),
      ],
      `list ${path || 'the root'}`,
    )
    const entries: TreeEntry[] = []
    // Split as bytes: a path is decoded on its own, strictly (a lossy decode makes names meet).
    for (let at = 0; at < out.length;) {
      const nul = out.indexOf(0, at)
      const end = nul < 0 ? out.length : nul
      const line = out.subarray(at, end)
      at = end + 1
      const tab = line.indexOf(0x09)
      if (tab < 0) continue
      // "<mode> <type> <hash> <size, padded>": the size is "-" for folders and submodules.
      const [mode, type, hash, size] = line.subarray(0, tab).toString('latin1').trim().split(/ +/)
      entries.push({
        mode,
        type,
        hash,
        size: Number(size) || 0,
        ...decodePath(line.subarray(tab + 1)),
      })
    }
    return entries
  }

  /**
   * The content of blobs: one `git cat-file --batch` for all of them. Its output may be as large as
   * the sizes asked for (from `listTree`) and no larger: a huge file is read only when asked for.
   */
  async readBlobs(wanted: { hash: string; size: number }[]): Promise<Map<string, Buffer>> {
    const blobs = new Map<string, Buffer>()
    const unique = new Map(wanted.map((b) => [b.hash, b.size]))
    if (unique.size === 0) return blobs
    // Each answer's header, "<hash> blob <size>\n", and the newline after its content.
    let bound = 0
    for (const [hash, size] of unique) bound += size + hash.length + 32
    const out = await this.runBytes(
      ['cat-file', '--batch'],
      `read ${unique.size} files`,
      `${[...unique.keys()].join('\n')}\n`,
      bound,
    )
    // Each answer: "<hash> <type> <size>\n<size bytes>\n", or "<name> missing\n".
    let at = 0
    while (at < out.length) {
      const eol = out.indexOf(0x0a, at)
      const header = out.subarray(at, eol).toString('latin1').split(' ')
      if (header.length !== 3) throw new GitCommandError(`git cannot read object ${header[0]}`)
      const size = Number(header[2])
      blobs.set(header[0], out.subarray(eol + 1, eol + 1 + size))
      at = eol + 1 + size + 1
    }
    return blobs
  }

  /**
   * Fetches `branch` straight into the local branch of that name, without touching the work tree: for a
   * clone whose files are read from git's objects. Returns the branch's new commit.
   */
  async fetchHead(branch: string): Promise<string> {
    await this.run(
      [
        'fetch',
        '--quiet',
        '--no-tags',
        '--update-head-ok',
        'origin',
        `+refs/heads/${branch}:refs/heads/${branch}`,
      ],
      `fetch ${branch}`,
    )
    return (await this.run(['rev-parse', `refs/heads/${branch}`], `read ${branch}`)).trim()
  }

  /**
   * Writes a commit's files into the work tree, for tools that read files (kustomize); into `workTree`
   * (created) when given, a folder without `.git`, so such tools cannot read the clone's own files. The
   * clone's index follows the last tree written: only files that changed since are written again.
   */
  async checkout(commit: string, workTree?: string): Promise<void> {
    if (workTree) await fs.mkdir(workTree, { recursive: true })
    await this.run(
      [...(workTree ? [`--work-tree=${workTree}`] : []), 'reset', '--quiet', '--hard', commit],
      `check out ${commit.slice(0, 12)}`,
    )
  }

  /**
   * True when `ancestor` is in the history of `commit`: the branch moved forward from it. False when
   * it is not (the branch was force-pushed), or when git cannot tell.
   */
  async isAncestor(ancestor: string, commit: string): Promise<boolean> {
    try {
      await this.raw(['merge-base', '--is-ancestor', ancestor, commit])
      return true
    } catch {
      return false
    }
  }

  /** Resolves a commit name (full or short hash) to a full hash, or undefined. */
  async resolveCommit(name: string): Promise<string | undefined> {
    try {
      return (
        (await this.raw(['rev-parse', '--verify', '--quiet', `${name}^{commit}`])).trim() ||
        undefined
      )
    } catch {
      return undefined
    }
  }

  /** Puts `path` as it was at `commit` into the work tree and index (removing what was added since). */
  async restorePath(commit: string, path: string): Promise<void> {
    await this.run(['rm', '-r', '-q', '--ignore-unmatch', '--', path], `clear ${path}`)
    await this.run(['checkout', commit, '--', path], `restore ${path} from ${commit}`)
  }

  /** Removes credentials files; the clone itself is the caller's to remove. */
  async dispose(): Promise<void> {
    await this.credentials.dispose()
  }
}

/**
 * The committer time (ISO 8601) of a commit in the repository at `dir` (the checkout a CI step runs in),
 * or undefined when it is not there.
 */
export async function localCommitTime(
  commit: string,
  dir = process.cwd(),
): Promise<string | undefined> {
  if (!/^[0-9a-f]{7,64}$/i.test(commit)) return undefined
  try {
    const out = await execGit(['show', '-s', '--format=%cI', commit], {
      cwd: dir,
      env: gitEnvironment(),
    })
    return out.toString('utf8').trim() || undefined
  } catch {
    return undefined
  }
}

export interface CommitInfo {
  hash: string
  /** Committer time, ISO 8601. */
  time: string
  message: string
}

/** A git command that failed; its message says what was being done and what git said. */
export class GitCommandError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GitCommandError'
  }
}

/** Removes anything that looks like credentials from git's messages. */
function redact(message: string): string {
  return message
    .replace(/(https?:\/\/)[^@\s/]+@/gi, '$1')
    .replace(/(AUTHORIZATION: basic )\S+/gi, '$1***')
}
