/**
 * The one Kubernetes client module: every API call of the agent goes through `KubeClient`, plain HTTPS on
 * one pool of kept-alive connections, with discovery cached per apiVersion. Errors come back as
 * `KubeError`s that say what was being done, the status code and the server's own message.
 *
 * Why not @kubernetes/client-node: loading it alone takes ~80 MB of memory (its generated models) and adds
 * work to every request; the agent needs a dozen REST calls, and a small pod.
 */
import { Agent, request } from 'node:https'
import { request as httpRequest, Agent as HttpAgent } from 'node:http'
import { sleep } from '../concurrency.js'
import { ConfigurationError } from '../errors.js'
import { describeRef, refOf, type ObjectRef } from '../manifests/identity.js'
import type { KubeObject } from '../manifests/yaml.js'
import { loadConnection, type Connection } from './kubeconfig.js'

/** A failed API call: `code` is the HTTP status (0 when the server could not be reached). */
export class KubeError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason?: string,
  ) {
    super(message)
    this.name = 'KubeError'
  }
}

interface StatusBody {
  kind?: string
  message?: string
  reason?: string
}

interface ApiResource {
  name: string
  kind: string
  namespaced: boolean
}

export interface ApplyOptions {
  fieldManager: string
  force: boolean
  dryRun?: boolean
}

interface Response {
  status: number
  text: string
  /** The Retry-After header, in seconds. */
  retryAfter?: string
}

const APPLY_PATCH = 'application/apply-patch+yaml'

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

/** `/api/v1[/namespaces/NS]/plural` or `/apis/group/version[/namespaces/NS]/plural`. */
function collectionPath(apiVersion: string, r: ApiResource, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  return `${base}${ns}/${r.name}`
}

export class KubeClient {
  /** Discovery per apiVersion: the resources it serves. */
  private readonly discovery = new Map<string, Promise<ApiResource[]>>()
  private readonly agent: Agent | HttpAgent
  /** The server's URL in parts, read once: every request is built from them. */
  private readonly endpoint: { protocol: string; hostname: string; port: string; path: string }

  private constructor(
    private readonly connection: Connection,
    private readonly maxSockets: number,
    private readonly requestTimeoutMs: number,
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
    const options = { keepAlive: true, maxSockets }
    this.agent =
      url.protocol === 'http:'
        ? new HttpAgent(options)
        : new Agent({
            ...options,
            ca: connection.ca,
            cert: connection.cert,
            key: connection.key,
            rejectUnauthorized: !connection.insecure,
            servername: connection.serverName,
          })
  }

  /** The server's URL, for messages. */
  get server(): string {
    return this.connection.server
  }

  /** From a kubeconfig file, else `KUBECONFIG`, `~/.kube/config` or the in-cluster service account. */
  static load(
    kubeconfig?: string,
    {
      maxSockets = 32,
      requestTimeoutMs = 60_000,
    }: { maxSockets?: number; requestTimeoutMs?: number } = {},
  ): KubeClient {
    return new KubeClient(loadConnection(kubeconfig), maxSockets, requestTimeoutMs)
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
  private async call(
    what: string,
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<Response> {
    let refreshed = false
    let resent = 0
    for (let waited = 0; ;) {
      let authorization: string | undefined
      try {
        authorization = await this.connection.authorization()
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        throw new KubeError(`${what}: no credentials for ${this.server}: ${message}`, 0)
      }
      let response: Response
      try {
        response = await this.send(method, path, body, contentType, authorization)
      } catch (error) {
        // The server closed its kept-alive connections (it restarted, or a load balancer timed them
        // out) and this request went out on one: sent again while that is so, if sending it twice is
        // harmless. The pool may hold several such connections; a new one never fails this way, so this
        // ends by itself (the bound is a guard).
        if (
          error instanceof StaleConnection &&
          resendable(method, contentType) &&
          resent++ <= this.maxSockets
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
    authorization: string | undefined,
  ): Promise<Response> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const server = this.endpoint
    const send = server.protocol === 'http:' ? httpRequest : request
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
          agent: this.agent,
          headers: {
            Accept: 'application/json',
            'User-Agent': 'gitops-agent',
            ...(authorization ? { Authorization: authorization } : {}),
            ...(payload !== undefined
              ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
          timeout: this.requestTimeoutMs,
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
      req.on('timeout', () => req.destroy(new Unanswered(`${this.requestTimeoutMs / 1000} s`)))
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

  /** The parsed body of a 2xx answer; a `KubeError` with the server's Status message otherwise. */
  private parse<T>(what: string, response: Response): T {
    let json: unknown
    try {
      json = response.text ? JSON.parse(response.text) : undefined
    } catch {
      json = undefined
    }
    if (response.status >= 200 && response.status < 300) return json as T
    const status = (json ?? {}) as StatusBody
    const message = status.message ?? (response.text.slice(0, 300) || `HTTP ${response.status}`)
    throw new KubeError(
      `${what}: ${message} (${response.status}${status.reason ? ` ${status.reason}` : ''})`,
      response.status,
      status.reason,
    )
  }

  private resources(apiVersion: string): Promise<ApiResource[]> {
    let found = this.discovery.get(apiVersion)
    if (!found) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
      const what = `discover ${apiVersion}`
      found = this.call(what, 'GET', path).then((response) => {
        if (response.status === 404) return []
        return this.parse<{ resources?: ApiResource[] }>(what, response).resources ?? []
      })
      // A failed discovery is asked again next time.
      const mine = found
      found.catch(() => {
        if (this.discovery.get(apiVersion) === mine) this.discovery.delete(apiVersion)
      })
      this.discovery.set(apiVersion, found)
    }
    return found
  }

  private async resource(apiVersion: string, kind: string): Promise<ApiResource> {
    const find = async () =>
      (await this.resources(apiVersion)).find((r) => r.kind === kind && !r.name.includes('/'))
    let found = await find()
    if (!found) {
      // A kind new since discovery was read (a CRD just applied): ask once more.
      this.discovery.delete(apiVersion)
      found = await find()
    }
    if (!found) {
      const served = (await this.resources(apiVersion)).length > 0
      throw new KubeError(
        served
          ? `discover ${kind} in ${apiVersion}: the server does not serve ${kind} in ${apiVersion} (is its CRD installed?)`
          : `discover ${kind} in ${apiVersion}: the server does not serve ${apiVersion} (a removed or not yet installed API?)`,
        404,
        'NotFound',
      )
    }
    return found
  }

  /** Whether a kind is namespaced, asking discovery again once when the kind is new (a CRD just applied). */
  async isNamespaced(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)).namespaced
  }

  /** The collection's path (in `namespace`, or across all for a namespaced kind without one). */
  private async collection(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    return collectionPath(apiVersion, await this.resource(apiVersion, kind), namespace)
  }

  private async objectPath(ref: ObjectRef): Promise<string> {
    const r = await this.resource(ref.apiVersion, ref.kind)
    if (r.namespaced && !ref.namespace)
      throw new KubeError(
        `${describeRef(ref)}: a namespaced object needs a namespace`,
        422,
        'Invalid',
      )
    // The resource found once serves both the check and the path: this runs for every object applied.
    return `${collectionPath(ref.apiVersion, r, ref.namespace)}/${encodeURIComponent(ref.name)}`
  }

  /** Server-side apply; the object as the server now has it. */
  async apply(object: KubeObject, options: ApplyOptions): Promise<KubeObject> {
    const what = `apply ${describeRef(refOf(object))}`
    return this.parse(what, await this.applyCall(what, object, options))
  }

  /** Server-side apply, when the answer is not needed: it is read only for an error. */
  async applyOnly(object: KubeObject, options: ApplyOptions): Promise<void> {
    const what = `apply ${describeRef(refOf(object))}`
    const response = await this.applyCall(what, object, options)
    // A large object's answer is not parsed just to be dropped: thousands are applied in a sync.
    if (response.status < 200 || response.status >= 300) this.parse(what, response)
  }

  private async applyCall(what: string, object: KubeObject, options: ApplyOptions) {
    const query = new URLSearchParams({ fieldManager: options.fieldManager })
    if (options.force) query.set('force', 'true')
    if (options.dryRun) query.set('dryRun', 'All')
    const path = `${await this.objectPath(refOf(object))}?${query}`
    return this.call(what, 'PATCH', path, object, APPLY_PATCH)
  }

  /** The live object, or undefined when it does not exist. */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const what = `read ${describeRef(ref)}`
    const response = await this.call(what, 'GET', await this.objectPath(ref))
    if (response.status === 404) return undefined
    return this.parse(what, response)
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const what = `create ${describeRef(refOf(object))}`
    const ref = refOf(object)
    const path = await this.collection(ref.apiVersion, ref.kind, ref.namespace)
    return this.parse(what, await this.call(what, 'POST', path, object))
  }

  /** Replaces an object; fails with 409 when its `resourceVersion` is stale. */
  async replace(object: KubeObject): Promise<KubeObject> {
    const what = `update ${describeRef(refOf(object))}`
    const path = await this.objectPath(refOf(object))
    return this.parse(what, await this.call(what, 'PUT', path, object))
  }

  /**
   * Deletes an object (dependents in the background); false when it was already gone. With `uid`, only
   * that very object: one deleted and created again since it was read fails with 409.
   */
  async delete(ref: ObjectRef, uid?: string): Promise<boolean> {
    const what = `delete ${describeRef(ref)}`
    const response = await this.call(what, 'DELETE', await this.objectPath(ref), {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Background',
      ...(uid ? { preconditions: { uid } } : {}),
    })
    if (response.status === 404) return false
    this.parse(what, response)
    return true
  }

  /** Objects of a kind, in one namespace or all, matching a label selector. */
  async list(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string } = {},
  ): Promise<KubeObject[]> {
    const what = `list ${kind}`
    const path = await this.collection(apiVersion, kind, options.namespace)
    const items: KubeObject[] = []
    let next: string | undefined
    do {
      // Pages of 500, as kubectl reads: a large list never has to fit in one answer.
      const query = new URLSearchParams({ limit: '500' })
      if (options.labelSelector) query.set('labelSelector', options.labelSelector)
      if (next) query.set('continue', next)
      const page = this.parse<{ items?: KubeObject[]; metadata?: { continue?: string } }>(
        what,
        await this.call(what, 'GET', `${path}?${query}`),
      )
      // A list's items carry no kind or apiVersion: give them theirs.
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind })
      next = page.metadata?.continue || undefined
    } while (next)
    return items
  }
}
