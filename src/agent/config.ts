/**
 * The agent's flags. The names follow Flux v1's read-only set where they mean the same, so that a Flux v1
 * install switches by changing its image.
 */
import { readFileSync } from 'node:fs'
import { booleanWord, parseFlags } from '../lib/args.js'
import { ConfigurationError, errorMessage } from '../lib/errors.js'
import { defaultApiUrl, gitHostOf, type GitHost } from '../lib/git-host/index.js'
import { checkGitPath } from './units.js'

export interface AgentConfig {
  gitUrl: string
  gitBranch?: string
  gitPaths: string[]
  gitPollIntervalMs: number
  syncIntervalMs: number
  gitTimeoutMs: number
  /** How long one kustomize build may run (--manifest-generation). */
  kustomizeTimeoutMs: number
  /** How much memory one kustomize build may hold, in MiB. */
  kustomizeMemoryLimitMB: number
  sshKeyFile?: string
  knownHostsFile?: string
  manifestGeneration: boolean
  gc: boolean
  gcDry: boolean
  /** The agent's own namespace (inventories, lease, events). */
  namespace: string
  defaultNamespace: string
  once: boolean
  dryRun: boolean
  logFormat: 'json' | 'text'
  kubeconfig?: string
  healthTimeoutMs: number
  /** How long an API request may go without an answer. */
  requestTimeoutMs: number
  concurrency: number
  /** Where the agent keeps its clone. */
  workDir: string
  /** `host:port` of /healthz, /readyz and /metrics; undefined: not served. */
  listen?: { host?: string; port: number }
  /** Names this cluster in commit status contexts and chat messages. */
  clusterName: string
  /** Where the chat webhook URLs are read from (never the URLs themselves). */
  notify?: SecretRef
  /** Commit statuses: where the token is read from, and the API to send them to. */
  statuses?: { token: SecretRef; provider: 'github' | 'gitlab'; apiUrl: string }
  /** Kubernetes Events on the agent's own object for each unit outcome that changed. */
  events: boolean
}

/** A secret's place: `file:PATH` or `env:NAME`. A pod spec shows flag values, so never the value. */
export type SecretRef = { file: string } | { env: string }

/**
 * A kustomize build's memory by default, in MiB. The agent's container (deploy/base) may hold 512Mi in
 * all; podinfo's overlays need about 50 MiB (`kubectl kustomize`, peak resident memory).
 */
export const AGENT_BUILD_MEMORY_MB = 256

const FLAGS: Record<string, { help: string; boolean?: boolean; list?: boolean }> = {
  'git-url': { help: 'the gitops repo to sync (SSH or HTTPS; read-only access is enough)' },
  'git-branch': { help: "the branch to sync (default: the remote's default branch)" },
  'git-path': {
    help: 'folders to sync, comma-separated or repeated (default: the repo root)',
    list: true,
  },
  'git-poll-interval': { help: 'how often to ask the remote for its head (default 1m)' },
  'sync-interval': {
    help: 'how often every unit is applied again even if unchanged, correcting drift (default 5m)',
  },
  'git-timeout': {
    help: 'time limit of each git command, the first clone included: raise it for a large repository (default 20s)',
  },
  'ssh-key': {
    help: 'file holding the read-only deploy key (default /etc/gitops/ssh/identity when it exists)',
  },
  'known-hosts': {
    help: "file of the git host's known_hosts lines (required for SSH hosts other than github.com; default /etc/gitops/ssh/known_hosts when it exists)",
  },
  'manifest-generation': {
    help: 'build units holding a kustomization.yaml with kustomize',
    boolean: true,
  },
  'kustomize-timeout': {
    help: 'time limit of one kustomize build; past it the build (with what it started) is killed and its unit fails (default 120s)',
  },
  'kustomize-memory-limit': {
    help: "MiB of memory one kustomize build may hold; past it the build is killed and its unit fails (default 256: well under the agent container's 512Mi limit in deploy/base, and some five times what podinfo's overlays need; raise it with the container's limit)",
  },
  'sync-garbage-collection': {
    help: 'delete what was removed from git (off by default, as in Flux v1)',
    boolean: true,
  },
  'sync-garbage-collection-dry': {
    help: 'only log what garbage collection would delete',
    boolean: true,
  },
  namespace: {
    help: "the agent's own namespace, for its inventories and lease (default: the pod's, else gitops-system)",
  },
  'default-namespace': {
    help: 'namespace for namespaced objects that name none (default default)',
  },
  once: {
    help: 'run one cycle, wait for health, exit 0 in sync, 1 when a unit failed, 2 on bad configuration',
    boolean: true,
  },
  'dry-run': {
    help: 'write nothing; print the plan per object (create, configure, unchanged, prune)',
    boolean: true,
  },
  'log-format': { help: 'json (default) or text' },
  kubeconfig: {
    help: 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account)',
  },
  'health-timeout': { help: 'how long to wait for rollouts to become healthy (default 5m)' },
  'request-timeout': {
    help: "how long a request to the API server may go without an answer; after one does, the rest of its unit's objects are not sent (default 60s)",
  },
  concurrency: { help: 'objects applied at once (default 16)' },
  'work-dir': { help: 'where the agent keeps its clone (default $TMPDIR/gitops-agent)' },
  listen: {
    help: "address of /healthz, /readyz and /metrics (default :8080; with --once only when given; 'off' serves none)",
  },
  'cluster-name': {
    help: 'this cluster in commit status contexts and chat messages (default default)',
  },
  notify: {
    help: 'chat webhook URLs (Slack, Teams, JSON), one per line, read from file:PATH or env:NAME',
  },
  'status-token': {
    help: 'token for commit statuses on the gitops and source commits, read from file:PATH or env:NAME',
  },
  'status-provider': {
    help: 'github or gitlab (default: gitlab when the git URL names a gitlab host, else github)',
  },
  'status-api-url': {
    help: 'the git host API (default https://api.github.com, or https://<host>/api/v4 for GitLab)',
  },
  events: {
    help: "record a Kubernetes Event on the agent's pod for each unit outcome that changed (default true)",
    boolean: true,
  },
}

export function usage(): string {
  const lines = [
    'Usage: gitops-agent --git-url URL [flags]',
    '',
    'Syncs releases from a gitops repo into the cluster.',
    '',
    'Flags:',
  ]
  for (const [name, f] of Object.entries(FLAGS))
    lines.push(`  --${name}${f.boolean ? '' : ' VALUE'}`.padEnd(36) + f.help)
  lines.push('', 'Every flag can also be set as GITOPS_AGENT_<FLAG> (e.g. GITOPS_AGENT_GIT_URL).')
  return lines.join('\n')
}

/** `30s`, `5m`, `1h`, `500ms`, or plain seconds. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim())
  // The value is not echoed: a flag given in the wrong place may hold a secret.
  if (!m) throw new ConfigurationError(`--${flag} is not a duration (e.g. 30s, 5m, 1h)`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!
  return Number(m[1]) * unit
}

/** Reads flags (`--name value`, `--name=value`, bare booleans) and `GITOPS_AGENT_*` variables. */
export function parseConfig(
  argv: string[],
  env: NodeJS.ProcessEnv,
  defaults: { namespace: string; workDir: string; sshKey?: string; knownHosts?: string },
): AgentConfig | 'help' {
  const { values, help } = parseFlags(argv, FLAGS)
  if (help) return 'help'
  const get = (name: string): string | undefined => {
    const v = values.get(name)
    if (v) return v[v.length - 1]
    const e = env[`GITOPS_AGENT_${name.toUpperCase().replace(/-/g, '_')}`]
    return e ? e : undefined
  }
  const bool = (name: string): boolean => {
    const v = get(name)
    const value = v === undefined ? false : booleanWord(v)
    if (value === undefined) throw new ConfigurationError(`--${name} must be true or false`)
    return value
  }
  const gitUrl = get('git-url')
  if (!gitUrl) throw new ConfigurationError('--git-url is required')
  const paths = (values.get('git-path') ?? [get('git-path') ?? ''])
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
  const logFormat = get('log-format') ?? 'json'
  if (logFormat !== 'json' && logFormat !== 'text')
    throw new ConfigurationError('--log-format must be json or text')
  const concurrency = Number(get('concurrency') ?? '16')
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new ConfigurationError('--concurrency must be a whole number of at least 1')
  const dns = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
  const namespace = get('namespace') ?? defaults.namespace
  const defaultNamespace = get('default-namespace') ?? 'default'
  for (const [flag, value] of [
    ['namespace', namespace],
    ['default-namespace', defaultNamespace],
  ]) {
    if (!dns.test(value)) throw new ConfigurationError(`--${flag} is not a namespace name`)
  }
  const requestTimeoutMs = parseDuration('request-timeout', get('request-timeout') ?? '60s')
  // 0 would be no limit at all (Node's meaning): a stuck server would then hold the agent for ever.
  if (requestTimeoutMs <= 0) throw new ConfigurationError('--request-timeout must be longer than 0')
  const kustomizeTimeoutMs = parseDuration('kustomize-timeout', get('kustomize-timeout') ?? '120s')
  if (kustomizeTimeoutMs <= 0)
    throw new ConfigurationError('--kustomize-timeout must be longer than 0')
  // Below the container's memory limit (deploy/base: 512Mi), which the agent shares with its builds.
  const memory = get('kustomize-memory-limit') ?? String(AGENT_BUILD_MEMORY_MB)
  if (!/^\d+$/.test(memory) || Number(memory) < 1)
    throw new ConfigurationError(
      '--kustomize-memory-limit must be a whole number of MiB (e.g. 256)',
    )
  const once = bool('once')
  const listenValue = get('listen') ?? (once ? undefined : ':8080')
  const statusToken = secretRef('status-token', get('status-token'))
  const gitPaths = [...new Set(paths.map(checkGitPath))]
  // A path inside another would make its folders units twice, under two names.
  for (const outer of gitPaths) {
    const inner = gitPaths.find((p) => p !== outer && (outer === '' || p.startsWith(`${outer}/`)))
    if (inner !== undefined)
      throw new ConfigurationError(
        `--git-path ${inner} is inside --git-path ${outer || '.'}: give one or the other`,
      )
  }
  return {
    gitUrl,
    gitBranch: get('git-branch'),
    gitPaths,
    gitPollIntervalMs: parseDuration('git-poll-interval', get('git-poll-interval') ?? '1m'),
    syncIntervalMs: parseDuration('sync-interval', get('sync-interval') ?? '5m'),
    gitTimeoutMs: parseDuration('git-timeout', get('git-timeout') ?? '20s'),
    kustomizeTimeoutMs,
    kustomizeMemoryLimitMB: Number(memory),
    sshKeyFile: get('ssh-key') ?? defaults.sshKey,
    knownHostsFile: get('known-hosts') ?? defaults.knownHosts,
    manifestGeneration: bool('manifest-generation'),
    gc: bool('sync-garbage-collection'),
    gcDry: bool('sync-garbage-collection-dry'),
    namespace,
    defaultNamespace,
    once,
    dryRun: bool('dry-run'),
    logFormat,
    kubeconfig: get('kubeconfig'),
    healthTimeoutMs: parseDuration('health-timeout', get('health-timeout') ?? '5m'),
    requestTimeoutMs,
    concurrency,
    workDir: get('work-dir') ?? defaults.workDir,
    listen:
      listenValue === undefined || listenValue === 'off' ? undefined : parseListen(listenValue),
    clusterName: checkName('cluster-name', get('cluster-name') ?? 'default'),
    notify: secretRef('notify', get('notify')),
    statuses: statusToken && { token: statusToken, ...statusApi(gitUrl, get) },
    events: get('events') === undefined ? true : bool('events'),
  }
}

/** `:8080`, `127.0.0.1:9090`, `[::1]:8080`. */
function parseListen(value: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim())
  const port = Number(m?.[3])
  if (!m || port > 65535)
    throw new ConfigurationError('--listen is not an address (e.g. :8080, 127.0.0.1:9090)')
  return { host: m[1] ?? (m[2] || undefined), port }
}

function checkName(flag: string, value: string): string {
  if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value))
    throw new ConfigurationError(`--${flag} must be letters, digits, '-', '_' or '.'`)
  return value
}

function secretRef(flag: string, value: string | undefined): SecretRef | undefined {
  if (value === undefined) return undefined
  const m = /^(file|env):(.+)$/.exec(value)
  if (!m) {
    throw new ConfigurationError(
      `--${flag} takes file:PATH or env:NAME (the place of a Secret), never the secret itself: a pod spec shows every flag`,
    )
  }
  return m[1] === 'file' ? { file: m[2] } : { env: m[2] }
}

/** The commit status API, from the flags or the git URL's host. */
function statusApi(
  gitUrl: string,
  get: (name: string) => string | undefined,
): { provider: GitHost; apiUrl: string } {
  const provider = get('status-provider') ?? gitHostOf(gitUrl)
  if (provider !== 'github' && provider !== 'gitlab')
    throw new ConfigurationError('--status-provider must be github or gitlab')
  const apiUrl = get('status-api-url') ?? defaultApiUrl(provider, gitUrl)
  return { provider, apiUrl: apiUrl.replace(/\/+$/, '') }
}

/** The secret a `file:`/`env:` flag points at, trimmed; a clear error when it is not there. */
export function readSecretRef(flag: string, ref: SecretRef, env: NodeJS.ProcessEnv): string {
  if ('env' in ref) {
    const value = env[ref.env]?.trim()
    if (!value)
      throw new ConfigurationError(
        `--${flag}: the environment variable ${ref.env} is empty or unset`,
      )
    return value
  }
  const value = readFlagFile(flag, ref.file).trim()
  if (!value) throw new ConfigurationError(`--${flag}: cannot read ${ref.file}: the file is empty`)
  return value
}

/** The content of a file a flag names; a clear error, naming the flag, when it cannot be read. */
export function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigurationError(`--${flag}: cannot read ${path}: ${errorMessage(error)}`)
  }
}
