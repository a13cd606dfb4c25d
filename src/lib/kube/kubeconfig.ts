/**
 * Where the API server is and how to prove who we are: a kubeconfig file (`--kubeconfig`, `KUBECONFIG`,
 * `~/.kube/config`) or the pod's service account. Covers what clusters hand out: bearer tokens (also from
 * a file that rotates), client certificates, basic auth, exec plugins (tokens or client certificates:
 * `exec-credential.ts`) and http(s) proxies (`proxy-url`). Legacy `auth-provider` entries are refused with
 * what to use instead. `HTTPS_PROXY` and `NO_PROXY` in the environment are not read: only `proxy-url`.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, dirname, isAbsolute, join } from 'node:path'
import { load } from 'js-yaml'
import { ConfigurationError, errorMessage } from '../errors.js'
import { execCredentials, type ExecConfig } from './exec-credential.js'
import { displayProxy } from './proxy.js'

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount'

/** What proves who we are on a request. */
export interface Credentials {
  /** The `Authorization` header value. */
  authorization?: string
  /** A client certificate and its key (PEM) from an exec plugin, in place of the kubeconfig's. */
  cert?: string
  key?: string
}

/** Credentials, read fresh when they can change. */
export interface CredentialSource {
  credentials(): Promise<Credentials>
  /** Forget a cached credential (after a 401), so the next call gets a new one. */
  refresh(): void
}

/** TLS material and credentials for one API server. */
export interface Connection extends CredentialSource {
  server: string
  ca?: Buffer
  insecure: boolean
  serverName?: string
  /** An http(s) proxy to reach the server through (`proxy-url`). */
  proxy?: URL
  cert?: Buffer
  key?: Buffer
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
function tokenFile(path: string): CredentialSource {
  let cached: { token: string; at: number } | undefined
  return {
    credentials: () => {
      if (!cached || Date.now() - cached.at > 60_000)
        cached = { token: readFileSync(path, 'utf8').trim(), at: Date.now() }
      return Promise.resolve({ authorization: `Bearer ${cached.token}` })
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
  let credentials: CredentialSource
  if (typeof user.token === 'string') {
    credentials = fixed(`Bearer ${user.token}`)
  } else if (typeof user.tokenFile === 'string') {
    const base = baseOf.get(userEntry) ?? '.'
    credentials = tokenFile(
      isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile),
    )
  } else if (typeof user.username === 'string') {
    credentials = fixed(
      `Basic ${Buffer.from(`${user.username}:${str(user.password) ?? ''}`).toString('base64')}`,
    )
  } else if (user.exec) {
    credentials = execCredentials(
      user.exec as ExecConfig,
      String(context.user),
      baseOf.get(userEntry) ?? '.',
    )
  } else {
    credentials = fixed(undefined)
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
    proxy: proxyUrl(cluster['proxy-url'], String(context.cluster)),
    credentials: () => credentials.credentials(),
    refresh: () => credentials.refresh(),
  }
}

/** Credentials that never change. */
function fixed(authorization: string | undefined): CredentialSource {
  const credentials = Promise.resolve({ authorization })
  return { credentials: () => credentials, refresh: () => undefined }
}

/** A cluster's `proxy-url`: http(s) proxies; SOCKS ones are refused. Messages leave out credentials. */
function proxyUrl(value: unknown, cluster: string): URL | undefined {
  if (value === undefined || value === '') return undefined
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {
    url = undefined
  }
  if (!url)
    throw new ConfigurationError(
      `the kubeconfig cluster ${cluster} has a proxy-url that is not a URL`,
    )
  const shown = displayProxy(url)
  if (url.protocol.startsWith('socks'))
    throw new ConfigurationError(
      `the kubeconfig cluster ${cluster} sets proxy-url ${shown}, a SOCKS proxy, which is not supported: use an http or https proxy`,
    )
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigurationError(
      `the kubeconfig cluster ${cluster} sets proxy-url ${shown}: only http and https proxies are supported`,
    )
  return url
}
