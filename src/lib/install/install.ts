/**
 * install-agent's core: connect to the cluster, settle the agent's key (reused, given, new or rotated),
 * register it read-only as the repository's deploy key, render deploy/base for the inputs and apply it
 * with the key's Secret. Run twice with the same inputs, the second run changes nothing. A rotation
 * registers the new key first, updates the Secret and restarts the agent, and deletes the old key last,
 * so there is no moment when neither key works.
 */
import { ConfigurationError, errorMessage } from '../errors.js'
import { hostOf } from '../git/remote.js'
import {
  defaultApiUrl,
  deleteDeployKey,
  ensureDeployKey,
  findDeployKey,
  gitHostOf,
  projectOf,
  type GitHost,
  type GitHostApi,
} from '../git-host/index.js'
import type { KubeClient } from '../kube/client.js'
import type { Logger } from '../log.js'
import { applyInstall, type InstallAction, type InstallChange } from './apply.js'
import {
  checkSshRepository,
  chooseKey,
  connect,
  knownHostsFor,
  readSshSecret,
  secretValue,
  type KeyAction,
} from './access.js'
import {
  agentObjects,
  AGENT_DEPLOYMENT,
  DEFAULT_NAMESPACE,
  writeManifests,
  type AgentManifestOptions,
  type RenderContext,
} from './manifests.js'
import type { SshKey } from './ssh-key.js'
import { waitForAgent, type AgentWait } from './wait.js'

/** What waiting for the agent found: its rollout, version, the commit it synced and its units. */
export type WaitResult = AgentWait

/**
 * Waits for the agent in `namespace` to roll out and sync what the branch holds since `since` (just
 * before the apply); throws when it does not in time, so an old deploy key is never retired for nothing.
 */
export type WaitForAgent = (
  client: KubeClient,
  namespace: string,
  timeoutMs: number,
  context: { since: Date; log: Logger },
) => Promise<WaitResult>

/** The `wait` of install-agent: the agent's rollout and sync, as the cluster records them. */
export const waitForInstalledAgent: WaitForAgent = async (
  client,
  namespace,
  timeoutMs,
  context,
) => {
  const result = await waitForAgent(client, { namespace, timeoutMs, ...context })
  if (!result.ready) {
    throw new ConfigurationError(
      `install: ${result.reason ?? 'the agent is not ready'} (namespace ${namespace}; a longer 'timeout' helps if it is still starting)`,
    )
  }
  return result
}

export interface InstallOptions extends Omit<AgentManifestOptions, 'notify' | 'statusToken'> {
  /** A kubeconfig file's path or its content; default KUBECONFIG, then ~/.kube/config. */
  kubeconfig?: string
  /** The user's own private key (OpenSSH or PEM, ed25519 or RSA); default the Secret's, or a new one. */
  sshKey?: string
  /** known_hosts lines of the git host; github.com's are built in. */
  knownHosts?: string
  /** A token that may manage the repository's deploy keys; without one, where to paste the key is said. */
  token?: string
  /** Default: from the repository's host name. */
  gitHost?: GitHost
  /** Default: the API of the repository's host. */
  apiUrl?: string
  /** Default: `gitops-agent <cluster-name>/<namespace>`, unique per cluster and namespace. */
  deployKeyTitle?: string
  rotateKey?: boolean
  /** Chat webhook URLs, one a line (a Secret the agent reads). */
  notify?: string
  /** The token the agent sets commit statuses with (a Secret it reads). */
  statusToken?: string
  /** Where to write the manifests (the Secrets without their values). */
  outputDir?: string
  /** Apply nothing and register nothing: the server's dry run says what would change. */
  dryRun?: boolean
  /** Bound for `wait`, in milliseconds. */
  timeoutMs?: number
  /** Where the kubeconfig content is kept for the run (default the system's temp dir). */
  tempDir?: string
  /** How to render deploy/base (tests). */
  render?: Omit<RenderContext, 'log'>
  /** Masks a secret made during the run (the private key) in the job's log. */
  mask?: (secret: string) => void
  /** Waits for the agent after the apply (and before an old key is deleted). */
  wait?: WaitForAgent
}

export interface InstallResult {
  publicKey: string
  fingerprint: string
  keyAction: KeyAction
  /** The deploy key's id on the git host; undefined without a token or in a dry run. */
  deployKeyId?: number
  /** True when the deploy key was registered by this run. */
  deployKeyCreated: boolean
  manifestsDir?: string
  changes: Record<InstallAction, number>
  objects: InstallChange[]
  /** True when this run changed nothing at all (cluster or git host). */
  unchanged: boolean
  restarted: boolean
  wait?: WaitResult
  dryRun: boolean
}

/** Where the restart annotation goes: a new value rolls the agent's pods. */
export const KEY_ANNOTATION = 'gitops-actions.dev/ssh-key'

/** Installs (or updates) the agent; see the module's comment for the order of things. */
export async function installAgent(options: InstallOptions, log: Logger): Promise<InstallResult> {
  checkSshRepository(options.repository)
  const namespace = options.namespace ?? DEFAULT_NAMESPACE
  const dryRun = options.dryRun === true
  const project = projectOf(options.repository)
  const host = options.gitHost ?? gitHostOf(options.repository)
  const api: GitHostApi | undefined = options.token
    ? {
        host,
        apiUrl: options.apiUrl ?? defaultApiUrl(host, options.repository),
        token: options.token,
      }
    : undefined
  const title =
    options.deployKeyTitle ?? `gitops-agent ${options.clusterName ?? 'cluster'}/${namespace}`
  const access = await connect(options.kubeconfig, options.tempDir)
  try {
    const client = access.client
    const installed = await readSshSecret(client, namespace)
    const comment = `gitops-agent@${options.clusterName ?? namespace}`
    const chosen = chooseKey(
      options.sshKey,
      secretValue(installed, 'identity'),
      options.rotateKey === true,
      comment,
    )
    const knownHosts = knownHostsFor(
      options.repository,
      options.knownHosts,
      secretValue(installed, 'known_hosts'),
    )
    const { key } = chosen
    options.mask?.(key.privateKey)
    log.info(`agent key: ${key.type} ${key.fingerprint} (${chosen.action})`)

    // The new key works on the host before the agent is given it.
    const registered = await register(api, project, title, key, dryRun, log)
    if (!api) log.info(pasteInstructions(host, options.repository, project, key))

    const objects = await agentObjects(
      manifestOptions(options),
      {
        identity: key.privateKey,
        knownHosts,
        notify: options.notify,
        statusToken: options.statusToken,
      },
      { log, ...options.render },
    )
    if (options.outputDir) {
      await writeManifests(options.outputDir, objects)
      log.info(`manifests written to ${options.outputDir} (Secrets without their values)`)
    }
    // Pods created after this saw what the branch holds now (see `waitForAgent`'s `since`).
    const since = new Date()
    const applied = await applyInstall(client, objects, { namespace, dryRun, log })
    const restarted =
      chosen.previous !== undefined && !dryRun && (await restart(client, namespace, key, log))

    const wait =
      options.wait && !dryRun
        ? await options.wait(client, namespace, options.timeoutMs ?? 300_000, { since, log })
        : undefined
    if (chosen.action === 'rotated' && chosen.previous)
      await retire(api, project, chosen.previous, key, dryRun, log)

    const changes = { created: 0, configured: 0, unchanged: 0, pruned: 0 }
    for (const change of applied) changes[change.action]++
    return {
      publicKey: key.publicKey,
      fingerprint: key.fingerprint,
      keyAction: chosen.action,
      deployKeyId: registered?.id,
      deployKeyCreated: registered?.created ?? false,
      manifestsDir: options.outputDir,
      changes,
      objects: applied,
      unchanged:
        applied.every((c) => c.action === 'unchanged') &&
        !registered?.created &&
        !restarted &&
        chosen.action !== 'rotated',
      restarted,
      wait,
      dryRun,
    }
  } finally {
    await access.close()
  }
}

/** The options deploy/base is rendered with: the install's, without its secrets and connections. */
function manifestOptions(
  options: InstallOptions,
): Omit<AgentManifestOptions, 'notify' | 'statusToken'> {
  const {
    kubeconfig: _kubeconfig,
    sshKey: _sshKey,
    knownHosts: _knownHosts,
    token: _token,
    notify: _notify,
    statusToken: _statusToken,
    render: _render,
    mask: _mask,
    wait: _wait,
    ...rest
  } = options
  return rest
}

/** Registers the key read-only (kept when there already); nothing without a token or in a dry run. */
async function register(
  api: GitHostApi | undefined,
  project: string,
  title: string,
  key: SshKey,
  dryRun: boolean,
  log: Logger,
): Promise<{ id: number; created: boolean } | undefined> {
  if (!api) return undefined
  if (dryRun) {
    log.info(`dry run: the deploy key "${title}" is not registered on ${project}`)
    return undefined
  }
  try {
    const result = await ensureDeployKey(api, project, { title, publicKey: key.publicKey })
    log.info(
      `deploy key ${result.id} of ${project} ${result.created ? 'registered' : 'already there'} (read-only)`,
    )
    return result
  } catch (error) {
    throw new ConfigurationError(
      `install: cannot register the deploy key on ${project}: ${errorMessage(error)}`,
      { cause: error },
    )
  }
}

/** Rolls the agent's pods, so that they read the new key: an annotation on the pod template. */
async function restart(
  client: KubeClient,
  namespace: string,
  key: SshKey,
  log: Logger,
): Promise<boolean> {
  // A field manager of its own: applied as gitops-install, this partial object would drop the rest.
  await client.apply(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: AGENT_DEPLOYMENT, namespace },
      spec: { template: { metadata: { annotations: { [KEY_ANNOTATION]: key.fingerprint } } } },
    },
    { fieldManager: 'gitops-install-restart', force: true },
  )
  log.info(`Deployment ${namespace}/${AGENT_DEPLOYMENT} restarted to read the new key`)
  return true
}

/** Deletes the old key's deploy key, last: the new one is registered and in use by now. */
async function retire(
  api: GitHostApi | undefined,
  project: string,
  previous: SshKey,
  key: SshKey,
  dryRun: boolean,
  log: Logger,
): Promise<void> {
  if (dryRun) return
  if (!api) {
    log.warn(
      `the old deploy key (${previous.fingerprint}) is still registered on ${project}: delete it on the git host once the agent syncs with the new one (${key.fingerprint})`,
    )
    return
  }
  const old = await findDeployKey(api, project, previous.publicKey)
  if (!old) return
  await deleteDeployKey(api, project, old.id)
  log.info(`old deploy key ${old.id} (${previous.fingerprint}) deleted from ${project}`)
}

/** Where to paste the public key by hand, when no token may register it. */
export function pasteInstructions(
  host: GitHost,
  repository: string,
  project: string,
  key: SshKey,
): string {
  const name = hostOf(repository) ?? (host === 'gitlab' ? 'gitlab.com' : 'github.com')
  const where =
    host === 'gitlab'
      ? `https://${name}/${project}/-/settings/repository (Settings > Repository > Deploy keys), with "Grant write permissions to this key" unchecked`
      : `https://${name}/${project}/settings/keys/new, with "Allow write access" unchecked`
  return [
    'No token to register the deploy key: add this public key as a read-only deploy key of the repository',
    `at ${where}:`,
    '',
    key.publicKey,
    '',
  ].join('\n')
}
