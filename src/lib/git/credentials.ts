/**
 * Credentials for a remote, never written into `.git/config`: a token rides on each command as an
 * `http.extraheader` passed in the environment, and an SSH key lives in a private temp folder with a
 * pinned known_hosts file, removed by `dispose()`.
 */
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigurationError } from '../errors.js'
import type { Logger } from '../log.js'
import { registerTempDir } from '../process/cleanup.js'
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

/** Prepared credentials: environment for every git command, and files to remove. */
export interface Credentials {
  env: Record<string, string>
  dispose(): Promise<void>
}

export async function prepareCredentials(
  url: string,
  auth: GitAuth,
  log: Logger,
): Promise<Credentials> {
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
export function credentialsFromUrl(
  url: string,
  auth: GitAuth = {},
): { url: string; auth: GitAuth } {
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
