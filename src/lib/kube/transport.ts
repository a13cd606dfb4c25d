/**
 * How `KubeClient` talks to the API server: HTTPS (or plain HTTP) on one pool of kept-alive connections,
 * TLS from the kubeconfig, a time limit per request, an http(s) proxy when the kubeconfig names one, and
 * the retries that are safe: a fresh credential after a 401, waiting out a 429, and a request lost on a
 * connection the server had closed.
 */
import { Agent, request } from 'node:https'
import { request as httpRequest, Agent as HttpAgent } from 'node:http'
import { sleep } from '../concurrency.js'
import { ConfigurationError } from '../errors.js'
import { KubeError } from './errors.js'
import type { Connection, Credentials } from './kubeconfig.js'
import { tunnelAgent } from './proxy.js'

/** An answer, read whole. */
export interface Response {
  status: number
  text: string
  /** The Retry-After header, in seconds. */
  retryAfter?: string
}

export const APPLY_PATCH = 'application/apply-patch+yaml'

/**
 * Whether a request lost with a stale connection may be sent again: a read; a server-side apply (the same
 * object again, the same result); a delete (bound to the object's uid where it matters, and a second one
 * of what the first deleted answers 404, read as gone). Not a create or an update, whose second try would
 * fail on the first one's success.
 */
function resendable(method: string, contentType: string): boolean {
  return (
    method === 'GET' || method === 'DELETE' || (method === 'PATCH' && contentType === APPLY_PATCH)
  )
}

/** A request that failed, before any answer, on a reused kept-alive connection the server had closed. */
class StaleConnection extends Error {}

/** A request that got no answer within the request timeout (the message says how long). */
class Unanswered extends Error {}

export interface TransportOptions {
  maxSockets: number
  requestTimeoutMs: number
}

export class Transport {
  /** The server's URL in parts, read once: every request is built from them. */
  private readonly endpoint: { protocol: string; hostname: string; port: string; path: string }
  private agent: HttpAgent
  /** The client certificate an exec plugin gave, which the agent presents. */
  private agentCert?: string

  constructor(
    private readonly connection: Connection,
    private readonly options: TransportOptions,
  ) {
    let url: URL
    try {
      url = new URL(connection.server)
    } catch {
      throw new ConfigurationError(
        `the kubeconfig's server ${connection.server} is not a URL (https://host:port)`,
      )
    }
    this.endpoint = {
      protocol: url.protocol,
      // An IPv6 address goes to the socket without its brackets.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
      path: url.pathname.replace(/\/+$/, ''),
    }
    this.agent = this.newAgent(connection.cert, connection.key)
  }

  /** The server's URL, for messages. */
  get server(): string {
    return this.connection.server
  }

  private newAgent(cert?: string | Buffer, key?: string | Buffer): HttpAgent {
    const { connection } = this
    const plain = this.endpoint.protocol === 'http:'
    const options = {
      keepAlive: true,
      maxSockets: this.options.maxSockets,
      ...(plain
        ? {}
        : {
            ca: connection.ca,
            cert,
            key,
            rejectUnauthorized: !connection.insecure,
            servername: connection.serverName,
          }),
    }
    if (connection.proxy)
      return tunnelAgent(connection.proxy, !plain, options, this.options.requestTimeoutMs)
    return plain ? new HttpAgent(options) : new Agent(options)
  }

  /**
   * The agent for these credentials. A new client certificate from an exec plugin gets a new pool: the
   * old pool's connections proved the old identity; each closes when its request is done.
   */
  private agentFor(credentials: Credentials): HttpAgent {
    if (credentials.cert === undefined || credentials.cert === this.agentCert) return this.agent
    const old = this.agent
    old.maxFreeSockets = 0
    for (const sockets of Object.values(old.freeSockets))
      for (const socket of sockets ?? []) socket.destroy()
    this.agentCert = credentials.cert
    this.agent = this.newAgent(credentials.cert, credentials.key)
    return this.agent
  }

  /** Closes kept-alive connections (the process can then exit at once). */
  close(): void {
    this.agent.destroy()
  }

  /**
   * One request; JSON in and out. A 401 gets one retry with a fresh credential (a rotated token), a 429
   * a few after waiting, and a request lost with a stale kept-alive connection goes out again until it
   * meets a live one, when sending it twice is harmless.
   */
  async call(
    what: string,
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<Response> {
    let refreshed = false
    let resent = 0
    for (let waited = 0; ;) {
      let credentials: Credentials
      try {
        credentials = await this.connection.credentials()
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        throw new KubeError(
          `${what}: no credentials for ${this.server}: ${message}`,
          0,
          undefined,
          { cause: error },
        )
      }
      let response: Response
      try {
        const agent = this.agentFor(credentials)
        response = await this.send(method, path, body, contentType, credentials, agent)
      } catch (error) {
        // The server closed its kept-alive connections (it restarted, or a load balancer timed them
        // out) and this request went out on one: sent again while that is so, if sending it twice is
        // harmless. The pool may hold several such connections; a new one never fails this way, so this
        // ends by itself (the bound is a guard).
        if (
          error instanceof StaleConnection &&
          resendable(method, contentType) &&
          resent++ <= this.options.maxSockets
        )
          continue
        if (error instanceof Unanswered)
          throw new KubeError(
            `${what}: no answer from the API server at ${this.server} within ${error.message}`,
            0,
            'Timeout',
          )
        const message = error instanceof Error ? error.message : String(error)
        throw new KubeError(`${what}: cannot reach the API server at ${this.server}: ${message}`, 0)
      }
      if (response.status === 401 && !refreshed) {
        refreshed = true
        this.connection.refresh()
        continue
      }
      // Too many requests (API priority and fairness): wait as told, a few times, as client-go does.
      if (response.status === 429 && waited < 3) {
        waited++
        await sleep(Math.min(10, Number(response.retryAfter) || 1) * 1000)
        continue
      }
      return response
    }
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    contentType: string,
    { authorization }: Credentials,
    agent: HttpAgent,
  ): Promise<Response> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const server = this.endpoint
    const send = server.protocol === 'http:' ? httpRequest : request
    const timeoutMs = this.options.requestTimeoutMs
    return new Promise((resolve, reject) => {
      let answered = false
      const req = send(
        {
          protocol: server.protocol,
          hostname: server.hostname,
          port: server.port,
          // Appended, not resolved: a server URL may carry a path (a proxy's `/k8s/clusters/<id>`).
          path: server.path + path,
          method,
          agent,
          headers: {
            Accept: 'application/json',
            'User-Agent': 'gitops-agent',
            ...(authorization ? { Authorization: authorization } : {}),
            ...(payload !== undefined
              ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          answered = true
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              retryAfter: res.headers['retry-after'],
            }),
          )
          res.on('error', reject)
        },
      )
      // No Nagle delay: a request's headers and body would otherwise wait for the server's ACK
      // (set here: an https Agent does not pass `noDelay` on to its TLS sockets).
      req.on('socket', (socket) => socket.setNoDelay(true))
      req.on('timeout', () => req.destroy(new Unanswered(`${timeoutMs / 1000} s`)))
      // Reset or closed for writing on a reused connection before any answer: the server had closed it.
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          req.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE')
            ? new StaleConnection(error.message)
            : error,
        ),
      )
      req.end(payload)
    })
  }
}
