/** A kubeconfig file pointing at the test server, as kubectl and client libraries read it. */
import { writeFileSync } from 'node:fs'
import { stringify } from 'yaml'

export interface KubeconfigOptions {
  server: string
  /** PEM of the CA; without it the cluster is marked `insecure-skip-tls-verify` (plain http). */
  ca?: string
  token: string
  /** The context's default namespace. */
  namespace?: string
}

const NAME = 'kube-api-test'

/** Writes the kubeconfig to `path`. */
export function writeKubeconfig(path: string, options: KubeconfigOptions): void {
  const cluster: Record<string, unknown> = { server: options.server }
  if (options.ca) cluster['certificate-authority-data'] = Buffer.from(options.ca).toString('base64')
  else cluster['insecure-skip-tls-verify'] = true
  const context: Record<string, unknown> = { cluster: NAME, user: NAME }
  if (options.namespace) context.namespace = options.namespace
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: NAME, cluster }],
    contexts: [{ name: NAME, context }],
    'current-context': NAME,
    users: [{ name: NAME, user: { token: options.token } }],
    preferences: {},
  }
  writeFileSync(path, stringify(config), { mode: 0o600 })
}
