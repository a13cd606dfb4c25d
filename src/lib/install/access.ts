/**
 * What an install needs before it applies anything: the cluster (a kubeconfig path, or its content kept
 * in a private temp file for the run only), the agent's key (the user's own, the one already in the
 * Secret, or a new one) and the git host's keys the agent trusts. Nothing here prints a private key.
 */
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigurationError, errorMessage } from '../errors.js'
import { GITHUB_KNOWN_HOSTS, isGithubSsh } from '../git/known-hosts.js'
import { transportOf } from '../git/remote.js'
import { KubeClient, KubeError } from '../kube/client.js'
import type { ObjectRef } from '../manifests/identity.js'
import type { KubeObject } from '../manifests/yaml.js'
import { SSH_SECRET } from './secrets.js'
import { generateSshKey, parsePrivateKey, type SshKey } from './ssh-key.js'

/** Where the key the install uses came from. */
export type KeyAction = 'generated' | 'reused' | 'provided' | 'rotated'

/** A connected client, and how to let go of it (and of the kubeconfig's temp file). */
export interface ClusterAccess {
  client: KubeClient
  close(): Promise<void>
}

/** Kubeconfig content, not a path: it spans lines or starts like YAML or JSON. */
export function isKubeconfigContent(value: string): boolean {
  return /\n/.test(value.trim()) || /^\s*(apiVersion\s*:|kind\s*:|\{)/.test(value)
}

/** A client for the kubeconfig given (path or content), else KUBECONFIG / ~/.kube/config. */
export async function connect(
  kubeconfig: string | undefined,
  tempRoot?: string,
): Promise<ClusterAccess> {
  let dir: string | undefined
  let path = kubeconfig
  if (kubeconfig !== undefined && isKubeconfigContent(kubeconfig)) {
    dir = await fs.mkdtemp(join(tempRoot ?? tmpdir(), 'gitops-kubeconfig-'))
    path = join(dir, 'config')
    await fs.writeFile(path, kubeconfig, { mode: 0o600 })
  }
  const remove = async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true })
  }
  try {
    const client = KubeClient.load(path, { requestTimeoutMs: 30_000 })
    const close = async () => {
      client.close()
      await remove()
    }
    return { client, close }
  } catch (error) {
    await remove()
    throw error
  }
}

/** The Secret of the agent's key in `namespace`. */
export const sshSecretRef = (namespace: string): ObjectRef => ({
  apiVersion: 'v1',
  kind: 'Secret',
  namespace,
  name: SSH_SECRET,
})

/** The live Secret of the agent's key, if any; an error saying what to fix when the cluster says no. */
export async function readSshSecret(
  client: KubeClient,
  namespace: string,
): Promise<KubeObject | undefined> {
  try {
    return await client.get(sshSecretRef(namespace))
  } catch (error) {
    const code = error instanceof KubeError ? error.code : -1
    if (code === 0)
      throw new ConfigurationError(
        `install: no Kubernetes cluster reachable at ${client.server}: ${errorMessage(error)}. Check the kubeconfig (its server and credentials) and that this runner can reach the API server`,
        { cause: error },
      )
    if (code === 401)
      throw new ConfigurationError(
        `install: the API server at ${client.server} does not accept the kubeconfig's credentials: ${errorMessage(error)}`,
        { cause: error },
      )
    if (code === 403)
      throw new ConfigurationError(
        `install: the kubeconfig's user may not read the Secret ${SSH_SECRET} in the namespace ${namespace} (installing the agent takes cluster-admin): ${errorMessage(error)}`,
        { cause: error },
      )
    throw error
  }
}

/** A value of a Secret's `data`, decoded. */
export function secretValue(secret: KubeObject | undefined, key: string): string | undefined {
  const data = (secret?.data ?? {}) as Record<string, string>
  return data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8')
}

/** The repository must be an SSH URL: the agent reads it with the deploy key. */
export function checkSshRepository(repository: string): void {
  if (transportOf(repository) !== 'ssh' || /\s/.test(repository))
    throw new ConfigurationError(
      `repository: '${repository}' is not an SSH URL (git@host:owner/repo.git or ssh://git@host/owner/repo.git): the agent reads the repository with a read-only deploy key`,
    )
}

/** The given known_hosts, GitHub's published keys for github.com, or the ones installed before. */
export function knownHostsFor(
  repository: string,
  given: string | undefined,
  installed: string | undefined,
): string {
  if (given) return given
  if (isGithubSsh(repository)) return GITHUB_KNOWN_HOSTS.join('\n')
  if (installed?.trim()) return installed
  throw new ConfigurationError(
    `known-hosts: required for ${repository} (only github.com's keys are built in): give the host's lines, e.g. the output of \`ssh-keyscan <host>\` checked against the keys the host publishes`,
  )
}

export interface ChosenKey {
  key: SshKey
  action: KeyAction
  /** The key installed before, when it is being replaced. */
  previous?: SshKey
}

/**
 * The key to install: the user's own (`given`), the Secret's (a second run changes nothing), or a new
 * ed25519 one; with `rotate`, a new one (or the user's) in place of the Secret's.
 */
export function chooseKey(
  given: string | undefined,
  installedIdentity: string | undefined,
  rotate: boolean,
  comment: string,
): ChosenKey {
  let installed: SshKey | undefined
  if (installedIdentity) {
    try {
      installed = parsePrivateKey(installedIdentity, comment)
    } catch {
      // A Secret holding no usable key is replaced, as if there were none.
      installed = undefined
    }
  }
  const key = given ? parsePrivateKey(given, comment) : undefined
  if (rotate) return { key: key ?? generateSshKey(comment), action: 'rotated', previous: installed }
  if (key) {
    const replaced = installed && installed.fingerprint !== key.fingerprint ? installed : undefined
    return { key, action: 'provided', previous: replaced }
  }
  if (installed) return { key: installed, action: 'reused' }
  return { key: generateSshKey(comment), action: 'generated' }
}
