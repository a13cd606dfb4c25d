/**
 * Where the API server is and how to prove who we are: a kubeconfig file (`--kubeconfig`, `KUBECONFIG`,
 * `~/.kube/config`) or the pod's service account. Covers what clusters hand out: bearer tokens (also from
 * a file that rotates), client certificates, basic auth, and exec plugins (`aws eks get-token`,
 * `gke-gcloud-auth-plugin`, `kubelogin`). Legacy `auth-provider` entries are refused with what to use instead.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path'
import { load } from 'js-yaml'
import { ConfigurationError, errorMessage } from '../errors.js'
import { runProcess } from '../process/run.js'

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount'

/** TLS material and credentials for one API server. */
export interface Connection {
  server: string
  ca?: Buffer
  insecure: boolean
  serverName?: string
  /** The `Authorization` header value (or undefined), read fresh when it can change. */
  authorization(): Promise<string | undefined>
  /** Forget a cached credential (after a 401), so the next call gets a new one. */
  refresh(): void
  cert?: Buffer
  key?: Buffer
}

interface ExecConfig {
  apiVersion?: string
  command: string
  args?: string[]
  env?: { name: string; value: string }[]
}

interface RawConfig {
  'current-context'?: string
  clusters?: { name: string; cluster?: Record<string, unknown> }[]
  users?: { name: string; user?: Record<string, unknown> }[]
  contexts?: { name: string; context?: { cluster?: string; user?: string } }[]
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** Loads the connection: the given file, else the usual places, else the pod's service account. */
export function loadConnection(file?: string, env: NodeJS.ProcessEnv = process.env): Connection {
  if (file) return fromKubeconfig([file])
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean)
  if (fromEnv.length > 0) return fromKubeconfig(fromEnv.filter((f) => existsSync(f)))
  const home = join(homedir(), '.kube', 'config')
  if (existsSync(home)) return fromKubeconfig([home])
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(SERVICE_ACCOUNT, 'token')))
    return inCluster(env)
  throw new ConfigurationError(
    'no Kubernetes cluster is configured: give --kubeconfig, set KUBECONFIG, or run in a pod with a service account',
  )
}

function inCluster(env: NodeJS.ProcessEnv): Connection {
  const host = env.KUBERNETES_SERVICE_HOST!
  const port = env.KUBERNETES_SERVICE_PORT ?? '443'
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(SERVICE_ACCOUNT, 'ca.crt')),
    insecure: false,
    ...tokenFile(join(SERVICE_ACCOUNT, 'token')),
  }
}

/** A token read from a file, read again each minute: bound service account tokens rotate. */
function tokenFile(path: string): Pick<Connection, 'authorization' | 'refresh'> {
  let cached: { token: string; at: number } | undefined
  return {
    authorization: () => {
      if (!cached || Date.now() - cached.at > 60_000)
        cached = { token: readFileSync(path, 'utf8').trim(), at: Date.now() }
      return Promise.resolve(`Bearer ${cached.token}`)
    },
    refresh: () => (cached = undefined),
  }
}

function fromKubeconfig(files: string[]): Connection {
  if (files.length === 0) throw new ConfigurationError('KUBECONFIG names no file that exists')
  // As kubectl merges KUBECONFIG: the first file to set a value wins.
  const merged: Required<Pick<RawConfig, 'clusters' | 'users' | 'contexts'>> & RawConfig = {
    clusters: [],
    users: [],
    contexts: [],
  }
  const baseOf = new Map<unknown, string>()
  for (const file of files) {
    let raw: RawConfig
    try {
      raw = load(readFileSync(file, 'utf8')) ?? {}
    } catch (error) {
      throw new ConfigurationError(`cannot read the kubeconfig ${file}: ${errorMessage(error)}`)
    }
    merged['current-context'] ??= raw['current-context']
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of raw[key] ?? []) {
        if (merged[key].some((e) => e.name === entry.name)) continue
        ;(merged[key] as unknown[]).push(entry)
        baseOf.set(entry, dirname(file))
      }
    }
  }
  const where = files.join(delimiter)
  const contextName = merged['current-context']
  const context = merged.contexts.find((c) => c.name === contextName)?.context
  if (!context) throw new ConfigurationError(`the kubeconfig ${where} has no current context`)
  const clusterEntry = merged.clusters.find((c) => c.name === context.cluster)
  const cluster = clusterEntry?.cluster
  const server = str(cluster?.server)
  if (!cluster || !server)
    throw new ConfigurationError(`the kubeconfig ${where} has no server for context ${contextName}`)
  const userEntry = merged.users.find((u) => u.name === context.user)
  const user = userEntry?.user ?? {}
  // Paths in a kubeconfig are relative to the file that holds them.
  const readPath = (entry: unknown, value: unknown): Buffer | undefined => {
    if (typeof value !== 'string') return undefined
    const base = baseOf.get(entry) ?? '.'
    return readFileSync(isAbsolute(value) ? value : join(base, value))
  }
  const data = (value: unknown): Buffer | undefined =>
    typeof value === 'string' ? Buffer.from(value, 'base64') : undefined

  if (user['auth-provider']) {
    throw new ConfigurationError(
      `the kubeconfig user ${context.user} uses an auth-provider, which kubectl itself no longer supports: use an exec credential plugin (e.g. gke-gcloud-auth-plugin, kubelogin)`,
    )
  }
  if (cluster['proxy-url'])
    throw new ConfigurationError(
      `the kubeconfig cluster ${context.cluster} sets proxy-url, which is not supported`,
    )

  let credentials: Pick<Connection, 'authorization' | 'refresh'>
  if (typeof user.token === 'string') {
    const header = `Bearer ${user.token}`
    credentials = { authorization: () => Promise.resolve(header), refresh: () => undefined }
  } else if (typeof user.tokenFile === 'string') {
    const base = baseOf.get(userEntry) ?? '.'
    credentials = tokenFile(
      isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile),
    )
  } else if (typeof user.username === 'string') {
    const header = `Basic ${Buffer.from(`${user.username}:${str(user.password) ?? ''}`).toString('base64')}`
    credentials = { authorization: () => Promise.resolve(header), refresh: () => undefined }
  } else if (user.exec) {
    const exec = user.exec as ExecConfig
    if (typeof exec.command !== 'string' || !exec.command)
      throw new ConfigurationError(
        `the kubeconfig user ${context.user} has an exec plugin with no command`,
      )
    // As kubectl does: a command with a path in it is relative to the kubeconfig's folder; a bare name
    // is looked up on PATH.
    const command = exec.command.includes(sep)
      ? resolve(baseOf.get(userEntry) ?? '.', exec.command)
      : exec.command
    credentials = execCredentials({ ...exec, command })
  } else {
    credentials = { authorization: () => Promise.resolve(undefined), refresh: () => undefined }
  }
  return {
    server: server.replace(/\/+$/, ''),
    ca:
      data(cluster['certificate-authority-data']) ??
      readPath(clusterEntry, cluster['certificate-authority']),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    serverName:
      typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
    cert: data(user['client-certificate-data']) ?? readPath(userEntry, user['client-certificate']),
    key: data(user['client-key-data']) ?? readPath(userEntry, user['client-key']),
    authorization: credentials.authorization,
    refresh: credentials.refresh,
  }
}

/** An exec credential plugin's token, kept until it expires (or the server refuses it). */
function execCredentials(exec: ExecConfig): Pick<Connection, 'authorization' | 'refresh'> {
  let cached: { header: string; expires: number } | undefined
  const run = async (): Promise<string> => {
    // The process runner: no shell, a time limit, and its process group killed with it.
    const r = await runProcess(exec.command, exec.args ?? [], {
      env: {
        ...process.env,
        ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])),
        KUBERNETES_EXEC_INFO: JSON.stringify({
          apiVersion: exec.apiVersion,
          kind: 'ExecCredential',
          spec: { interactive: false },
        }),
      },
      timeoutMs: 60_000,
      maxOutputBytes: 1024 * 1024,
      label: `the exec credential plugin ${exec.command}`,
    })
    if (r.code !== 0)
      throw new Error(
        `the exec credential plugin ${exec.command} failed: ${r.stderr.trim() || `exit code ${r.code}`}`,
      )
    return r.stdout.toString('utf8')
  }
  // One run at a time: concurrent requests share the plugin's answer.
  let running: Promise<string> | undefined
  const fetchToken = async (): Promise<string> => {
    const out = JSON.parse(await run()) as {
      status?: { token?: string; expirationTimestamp?: string }
    }
    if (!out.status?.token)
      throw new Error(
        `the exec credential plugin ${exec.command} returned no token (client certificates from plugins are not supported)`,
      )
    const expires = out.status.expirationTimestamp
      ? Date.parse(out.status.expirationTimestamp) - 30_000
      : Number.POSITIVE_INFINITY
    cached = { header: `Bearer ${out.status.token}`, expires }
    return cached.header
  }
  return {
    authorization: () => {
      if (cached && Date.now() < cached.expires) return Promise.resolve(cached.header)
      running ??= fetchToken().finally(() => (running = undefined))
      return running
    },
    refresh: () => (cached = undefined),
  }
}
