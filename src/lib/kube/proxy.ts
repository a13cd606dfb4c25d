/**
 * The kubeconfig's `proxy-url` for http(s) proxies: each connection to the API server is a CONNECT tunnel
 * through the proxy, with TLS to the API server inside it, end to end, as kubectl does (a plain-http API
 * server is tunnelled too). SOCKS proxies are refused where the kubeconfig is read. The proxy's user name
 * and password go only into its `Proxy-Authorization` header, never into a message.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequestArgs } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions } from 'node:https'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'

/** The proxy's URL for messages: scheme, host and port, without credentials. */
export function displayProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`
}

/** A socket tunnelled to `host:port` through the proxy (its answer to CONNECT must be 200). */
export function openTunnel(
  proxy: URL,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Socket> {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`
  const headers: Record<string, string> = { Host: target }
  if (proxy.username || proxy.password) {
    const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
    headers['Proxy-Authorization'] = `Basic ${Buffer.from(user).toString('base64')}`
  }
  const secure = proxy.protocol === 'https:'
  const name = displayProxy(proxy)
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)({
      hostname: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: proxy.port || (secure ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      timeout: timeoutMs,
    })
    req.on('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy()
        reject(
          new Error(
            `the proxy ${name} refused a tunnel to ${target}: ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd(),
          ),
        )
        return
      }
      // The tunnel is the API request's socket now: its own timeout applies from here.
      socket.setTimeout(0)
      if (head.length > 0) socket.unshift(head)
      resolve(socket)
    })
    req.on('timeout', () =>
      req.destroy(new Error(`no tunnel from the proxy ${name} within ${timeoutMs / 1000} s`)),
    )
    req.on('error', (error) =>
      reject(
        error.message.includes(name) ? error : new Error(`the proxy ${name}: ${error.message}`),
      ),
    )
    req.end()
  })
}

type Done = (error: Error | null, stream?: Duplex) => void

/**
 * A kept-alive agent whose connections are tunnels through the proxy (`secure`: TLS inside them, with
 * the agent's TLS options). Node's agents take a connection from a callback, so pooling is unchanged.
 */
export function tunnelAgent(
  proxy: URL,
  secure: boolean,
  options: AgentOptions,
  timeoutMs: number,
): HttpAgent {
  const tunnel = (o: ClientRequestArgs) =>
    openTunnel(proxy, o.hostname ?? o.host ?? 'localhost', Number(o.port), timeoutMs)
  if (!secure)
    return new (class extends HttpAgent {
      createConnection(o: ClientRequestArgs, done: Done): undefined {
        tunnel(o).then((socket) => done(null, socket), done)
      }
    })(options)
  return new (class extends HttpsAgent {
    createConnection(o: ClientRequestArgs, done: Done): undefined {
      tunnel(o).then((socket) => done(null, tlsConnect({ ...(o as object), socket })), done)
    }
  })(options)
}
