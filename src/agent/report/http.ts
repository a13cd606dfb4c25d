/** `--listen`: `/healthz` (the process is alive), `/readyz` (synced since start, the remote and the API server reachable), `/metrics`. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Metrics } from './metrics.js'

export interface Readiness {
  /** Why the agent is not ready, or undefined when it is. */
  notReady(): string | undefined
}

export async function serveReports(
  listen: { host?: string; port: number },
  metrics: Metrics,
  readiness: Readiness,
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type })
      res.end(body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n')
    if (path === '/healthz') return reply(200, 'ok\n')
    if (path === '/readyz') {
      const why = readiness.notReady()
      return why ? reply(503, `not ready: ${why}\n`) : reply(200, 'ok\n')
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) => reply(200, text, metrics.registry.contentType),
        (error: unknown) => reply(500, `${String(error)}\n`),
      )
      return
    }
    reply(404, 'not found: try /healthz, /readyz or /metrics\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
