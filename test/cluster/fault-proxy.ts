/**
 * A fault-injecting HTTPS proxy in front of the real API server: it forwards each request as the cluster's
 * admin and, by the same rules as the Node test server's faults (test/support/kube-api/faults.ts), delays
 * some, answers others with an error Status, or drops their connection. Its kubeconfig points clients at it.
 */
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Faults } from '../support/kube-api/faults.js'
import { writeKubeconfig } from '../support/kube-api/kubeconfig.js'
import { testCertificates } from '../support/kube-api/tls.js'
import { tempDir } from '../support/tmp.js'
import { clusterCredentials } from './support.js'

export interface FaultProxy {
  readonly kubeconfigPath: string
  readonly faults: Faults
  /** Requests seen, with what was done to them. */
  readonly log: { method: string; url: string; fault?: 'error' | 'drop'; status?: number }[]
  stop(): Promise<void>
}

const REASONS: Record<number, string> = {
  500: 'InternalError',
  503: 'ServiceUnavailable',
  429: 'TooManyRequests',
}

export async function startFaultProxy(): Promise<FaultProxy> {
  const upstream = clusterCredentials()
  const certs = await testCertificates()
  const faults = new Faults()
  const log: FaultProxy['log'] = []
  const agent = new https.Agent({
    keepAlive: true,
    ca: upstream.ca,
    cert: upstream.cert,
    key: upstream.key,
  })

  const server = https.createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    const url = req.url ?? '/'
    const entry: FaultProxy['log'][number] = { method: req.method ?? 'GET', url }
    log.push(entry)
    const decision = faults.decide(entry.method, url)
    const forward = () => {
      if (decision?.drop) {
        entry.fault = 'drop'
        req.socket.destroy()
        return
      }
      if (decision?.errorCode !== undefined) {
        entry.fault = 'error'
        entry.status = decision.errorCode
        res.writeHead(decision.errorCode, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `injected fault (${decision.errorCode})`,
            reason: REASONS[decision.errorCode] ?? 'InternalError',
            code: decision.errorCode,
          }),
        )
        return
      }
      const headers = { ...req.headers, host: upstream.server.host }
      delete headers.authorization // the proxy speaks as the admin (client certificate)
      const out = https.request(
        {
          host: upstream.server.hostname,
          port: upstream.server.port,
          method: req.method,
          path: url,
          headers,
          agent,
        },
        (answer) => {
          entry.status = answer.statusCode
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      out.on('error', () => res.destroy())
      res.on('close', () => out.destroy())
      req.pipe(out)
    }
    if (decision?.latencyMs) setTimeout(forward, decision.latencyMs)
    else forward()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  const kubeconfigPath = join(tempDir('gitops-fault-proxy-'), 'kubeconfig')
  writeKubeconfig(kubeconfigPath, {
    server: `https://127.0.0.1:${port}`,
    ca: certs.ca,
    token: 'unused', // the proxy authenticates upstream; the token never leaves it
  })

  return {
    kubeconfigPath,
    faults,
    log,
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      agent.destroy()
    },
  }
}
