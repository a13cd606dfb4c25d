/**
 * Exec credential plugins (`aws eks get-token`, `gke-gcloud-auth-plugin`, `kubelogin`, a
 * `client.authentication.k8s.io` ExecCredential on stdout): a bearer token, a client certificate and key,
 * or both, kept until they expire or the server refuses them.
 */
import { resolve, sep } from 'node:path'
import { ConfigurationError } from '../errors.js'
import { runProcess } from '../process/run.js'
import type { Credentials, CredentialSource } from './kubeconfig.js'

/** A kubeconfig user's `exec` entry. */
export interface ExecConfig {
  apiVersion?: string
  command: string
  args?: string[]
  env?: { name: string; value: string }[]
}

interface ExecCredentialStatus {
  token?: string
  clientCertificateData?: string
  clientKeyData?: string
  expirationTimestamp?: string
}

/**
 * The credentials a user's exec plugin hands out. As kubectl does, a command with a path in it is
 * relative to the folder of the kubeconfig that names it (`base`); a bare name is looked up on PATH.
 */
export function execCredentials(exec: ExecConfig, user: string, base: string): CredentialSource {
  if (typeof exec.command !== 'string' || !exec.command)
    throw new ConfigurationError(`the kubeconfig user ${user} has an exec plugin with no command`)
  const command = exec.command.includes(sep) ? resolve(base, exec.command) : exec.command
  const label = `the exec credential plugin ${command}`
  let cached: { credentials: Credentials; expires: number } | undefined

  const run = async (): Promise<ExecCredentialStatus> => {
    // The process runner: no shell, a time limit, and its process group killed with it.
    const r = await runProcess(command, exec.args ?? [], {
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
      label,
    })
    if (r.code !== 0)
      throw new Error(`${label} failed: ${r.stderr.trim() || `exit code ${r.code}`}`)
    let out: { status?: ExecCredentialStatus }
    try {
      out = JSON.parse(r.stdout.toString('utf8')) as typeof out
    } catch {
      throw new Error(`${label} printed no ExecCredential (not JSON)`)
    }
    return out.status ?? {}
  }

  const fetch = async (): Promise<Credentials> => {
    const status = await run()
    const cert = status.clientCertificateData
    const key = status.clientKeyData
    if (!status.token && !cert)
      throw new Error(`${label} returned neither a token nor a client certificate`)
    if (!cert !== !key)
      throw new Error(`${label} returned a client certificate without its key, or a key alone`)
    const credentials: Credentials = {
      authorization: status.token ? `Bearer ${status.token}` : undefined,
      cert,
      key,
    }
    const expires = status.expirationTimestamp
      ? Date.parse(status.expirationTimestamp) - 30_000
      : Number.POSITIVE_INFINITY
    cached = { credentials, expires }
    return credentials
  }

  // One run at a time: concurrent requests share the plugin's answer.
  let running: Promise<Credentials> | undefined
  return {
    credentials: () => {
      if (cached && Date.now() < cached.expires) return Promise.resolve(cached.credentials)
      running ??= fetch().finally(() => (running = undefined))
      return running
    },
    refresh: () => (cached = undefined),
  }
}
