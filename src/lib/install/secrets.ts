/**
 * The Secrets install-agent makes: the deploy key (`gitops-agent-ssh`, the name deploy/base mounts) and,
 * when given, the chat webhook URLs and the commit status token, which the agent reads through
 * `file:` flags. They are built as objects in memory only: never written to the overlay folder or to
 * `output-dir`, and their values never reach a message.
 */
import type { KubeObject } from '../manifests/yaml.js'
import { installLabels } from '../kube/labels.js'

/** One Secret the agent's pod mounts, and the flag that points the agent at its key. */
export interface MountedSecret {
  /** The Secret's name. */
  secretName: string
  /** The pod's volume of it. */
  volume: string
  /** Where the container sees it. */
  mountPath: string
  /** The key holding the value. */
  key: string
  /** The agent's flag reading it (`--notify=file:<mountPath>/<key>`). */
  flag: string
}

/** The deploy key Secret of deploy/base: keys `identity` and `known_hosts`, mounted at /etc/gitops/ssh. */
export const SSH_SECRET = 'gitops-agent-ssh'

/** Chat webhook URLs, one a line (the name deploy/examples uses). */
export const NOTIFY_SECRET: MountedSecret = {
  secretName: 'gitops-agent-notify',
  volume: 'notify',
  mountPath: '/etc/gitops/notify',
  key: 'urls',
  flag: 'notify',
}

/** The token the agent sets commit statuses with. */
export const STATUS_TOKEN_SECRET: MountedSecret = {
  secretName: 'gitops-agent-status-token',
  volume: 'status-token',
  mountPath: '/etc/gitops/status-token',
  key: 'token',
  flag: 'status-token',
}

/** The secret values of an install. */
export interface AgentSecretValues {
  /** The deploy key, an OpenSSH private key. */
  identity: string
  /** known_hosts lines of the git host. */
  knownHosts: string
  /** Chat webhook URLs, one a line. */
  notify?: string
  /** The commit status token. */
  statusToken?: string
}

/** A labelled Opaque Secret of `namespace`, its values base64-encoded in `data`. */
function secret(namespace: string, name: string, values: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: {
        'app.kubernetes.io/name': 'gitops-agent',
        'app.kubernetes.io/part-of': 'gitops-actions',
        ...installLabels(namespace),
      },
    },
    type: 'Opaque',
    // `data`, not `stringData`: the server stores `data`, so a second apply of the same values is a no-op.
    data: Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
  }
}

/** OpenSSH refuses a key file without its final newline; known_hosts reads better with one too. */
const withNewline = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`)

/** The Secret `gitops-agent-ssh` of `namespace`: the deploy key and the host keys the agent trusts. */
export function sshKeySecret(namespace: string, identity: string, knownHosts: string): KubeObject {
  return secret(namespace, SSH_SECRET, {
    identity: withNewline(identity),
    known_hosts: withNewline(knownHosts),
  })
}

/** Every Secret of an install: the deploy key's, and the notify and status token ones when given. */
export function agentSecrets(namespace: string, values: AgentSecretValues): KubeObject[] {
  const secrets = [sshKeySecret(namespace, values.identity, values.knownHosts)]
  for (const [mount, value] of [
    [NOTIFY_SECRET, values.notify],
    [STATUS_TOKEN_SECRET, values.statusToken],
  ] as const) {
    if (value !== undefined)
      secrets.push(secret(namespace, mount.secretName, { [mount.key]: withNewline(value) }))
  }
  return secrets
}

/** An object as it may be written to a file: a Secret without its values (`data`, `stringData`). */
export function withoutSecretData(object: KubeObject): KubeObject {
  if (object.kind !== 'Secret' || object.apiVersion !== 'v1') return object
  const { data: _data, stringData: _stringData, ...rest } = object
  return rest
}
