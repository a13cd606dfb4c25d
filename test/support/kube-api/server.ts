/**
 * The HTTP(S) front of the test API server: request reading, fault injection, request counting,
 * routing by Kubernetes URL shape, content negotiation (JSON, Table, PartialObjectMetadata) and watches.
 * Over TLS it speaks HTTP/2 and HTTP/1.1 (chosen by ALPN), as kube-apiserver does; plain http is HTTP/1.1.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import * as http from 'node:http'
import * as http2 from 'node:http2'
import * as https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WorkloadController } from './controller.js'
import { CrdController } from './crds.js'
import * as discovery from './discovery.js'
import {
  ApiError,
  forbiddenStatus,
  methodNotAllowed,
  noSuchResource,
  PageNotFound,
  statusBody,
} from './errors.js'
import { Faults } from './faults.js'
import { decodeProtobufObject } from './protobuf.js'
import type { KubeObject } from './json.js'
import { writeKubeconfig } from './kubeconfig.js'
import { isBuiltinGroup, ResourceRegistry, splitApiVersion } from './resources.js'
import { parseBody, Rest, typeless, type Scope } from './rest.js'
import { Store } from './store.js'
import { partialMetadata, requestedForm, toTable } from './table.js'
import { testCertificates } from './tls.js'
import { serveWatch } from './watch.js'

export interface KubeApiServerOptions {
  /** Serve HTTPS with a throwaway CA (default true); false serves plain http (`insecure-skip-tls-verify`). */
  tls?: boolean
  /**
   * Offer HTTP/2 over TLS (default true, as kube-apiserver does); false serves HTTP/1.1 alone, as a proxy
   * in front of the API server may.
   */
  http2?: boolean
  /**
   * Answer 401 to requests without the kubeconfig's bearer token (default false: anyone may ask), or,
   * with `clientCa`, without a client certificate it signed.
   */
  requireToken?: boolean
  /**
   * PEM of a CA whose client certificates authenticate a request, as kube-apiserver's `--client-ca-file`:
   * the server asks for a certificate in the TLS handshake and records the user it names (its CN).
   */
  clientCa?: string
  /** Namespaces that exist from the start (default: default, kube-system, kube-public, kube-node-lease). */
  namespaces?: string[]
  /** Delay before the workload controller reports a rollout (default 50 ms). */
  rolloutDelayMs?: number
  /** Images containing this substring never become ready (default `fail`). */
  failingImageMarker?: string
  /** How long a failing Deployment progresses before `ProgressDeadlineExceeded` (default 500 ms). */
  progressDeadlineMs?: number
  /** How long a deleted Namespace stays Terminating (default 50 ms). */
  namespaceDeletionDelayMs?: number
  /**
   * How long a new CRD takes to be Established, its kind served (REST routes and discovery) only then
   * (default 100 ms; a real API server takes a few ms to a few seconds). 0 establishes it at once.
   */
  crdEstablishDelayMs?: number
  /** Nodes DaemonSets schedule onto (default 1). */
  nodes?: number
  /** Randomness for fault rates (default Math.random). */
  random?: () => number
}

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string
  /** The path without the query. */
  path: string
  /** The query string without `?` ('' if none). */
  query: string
  contentType?: string
  accept?: string
  userAgent?: string
  /** `2.0` or `1.1`. */
  httpVersion: string
  /** The CN of the verified client certificate the request came with (with `clientCa`). */
  user?: string
  /** The answer's HTTP code (0 for a dropped connection, undefined while in flight). */
  status?: number
}

/** An answer to `server.request()`. */
export interface ApiResponse {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  /** The parsed JSON body (undefined if it is not JSON). */
  body: any
}

/** Where an object lives: its apiVersion, kind, namespace (for namespaced kinds) and name. */
export interface ObjectRef {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
}

/** A running test API server. */
export interface KubeApiServer {
  /** `https://127.0.0.1:<port>` (or `http://…` with `tls: false`). */
  readonly url: string
  /** A kubeconfig for this server (pass `--kubeconfig` to kubectl). */
  readonly kubeconfigPath: string
  /** PEM of the CA behind the server's certificate (undefined with `tls: false`). */
  readonly ca?: string
  /** The bearer token the kubeconfig carries. */
  readonly token: string
  /** Fault injection rules. */
  readonly faults: Faults
  /** The stored objects, read and written without HTTP. */
  readonly objects: {
    /** A copy of the stored object (undefined if missing); with managedFields and status as stored. */
    get(ref: ObjectRef): KubeObject | undefined
    /** Copies of all stored objects of a kind (in one namespace if given). */
    list(apiVersion: string, kind: string, namespace?: string): KubeObject[]
    /** Server-side applies `object` (with force) as `manager` (default `test`): seeds state for a test. */
    apply(object: KubeObject, manager?: string): KubeObject
    /** The latest resourceVersion. */
    resourceVersion(): number
  }
  /** The requests seen so far. */
  readonly requests: {
    all(): readonly RecordedRequest[]
    /**
     * How many requests match: `method` (any case; all if unset) and `path` (a string is compared with
     * the path exactly; a RegExp is tested against `path?query`).
     */
    count(method?: string, path?: string | RegExp): number
    reset(): void
  }
  /** True while the workload controller still has a status update to write. */
  readonly controllerBusy: boolean
  /** One request to the server (trusting its CA), for tests of the HTTP protocol itself. */
  request(
    method: string,
    path: string,
    init?: { body?: unknown; contentType?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse>
  /** Closes every open connection at once, as a restarted API server or load balancer would. */
  dropConnections(): void
  /** Stops the server: open connections (watches too) are closed and the kubeconfig removed. */
  stop(): Promise<void>
}

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease']

function sendJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  })
  res.end(text)
}

/** The real server's answer to a path it has no route for: plain text, not a Status. */
function sendPageNotFound(res: http.ServerResponse): void {
  const text = '404 page not found\n'
  res.writeHead(404, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(text),
  })
  res.end(text)
}

function sendError(res: http.ServerResponse, error: unknown): void {
  if (error instanceof PageNotFound) return sendPageNotFound(res)
  const apiError =
    error instanceof ApiError
      ? error
      : new ApiError(
          500,
          'InternalError',
          `Internal error occurred: ${error instanceof Error ? error.stack : String(error)}`,
        )
  sendJson(res, apiError.code, apiError.toStatus())
}

/**
 * The body as JSON text: protobuf bodies (kubectl's typed clients send them) are decoded where
 * `protobuf.ts` knows the kind; other non-JSON encodings answer 415.
 */
function decodeBody(contentType: string | undefined, raw: Buffer): string {
  if (raw.length === 0) return ''
  if (/protobuf/i.test(contentType ?? '')) return JSON.stringify(decodeProtobufObject(raw))
  if (/cbor/i.test(contentType ?? '')) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
    )
  }
  return raw.toString('utf8')
}

/** Reads the whole body: a kept-alive connection breaks if a request's body is left unread. */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The CN of the client certificate the connection proved (over HTTP/1.1 or HTTP/2), if any. */
function certificateUser(req: http.IncomingMessage): string | undefined {
  const socket = (
    req.httpVersionMajor === 2
      ? (req as unknown as http2.Http2ServerRequest).stream.session?.socket
      : req.socket
  ) as TLSSocket | undefined
  if (!socket?.authorized) return undefined
  const cn = socket.getPeerCertificate()?.subject?.CN
  return typeof cn === 'string' ? cn : undefined
}

/** The parts of a resource URL: `/api/v1/namespaces/x/configmaps/y/status`. */
interface ResourcePath {
  group: string
  version: string
  /** Segments after the group/version. */
  rest: string[]
}

function resourcePath(pathname: string): ResourcePath | undefined {
  const segs = pathname.split('/').filter(Boolean).map(decodeURIComponent)
  if (segs[0] === 'api' && segs.length >= 2)
    return { group: '', version: segs[1], rest: segs.slice(2) }
  if (segs[0] === 'apis' && segs.length >= 3)
    return { group: segs[1], version: segs[2], rest: segs.slice(3) }
  return undefined
}

/** Starts a server on 127.0.0.1 (a free port) and writes its kubeconfig. */
export async function startKubeApiServer(
  options: KubeApiServerOptions = {},
): Promise<KubeApiServer> {
  const useTls = options.tls ?? true
  const certs = useTls ? await testCertificates() : undefined
  const token = randomBytes(16).toString('hex')
  const registry = new ResourceRegistry()
  const store = new Store()
  const crdEstablishDelayMs = options.crdEstablishDelayMs ?? 100
  const rest = new Rest(registry, store, {
    namespaceDeletionDelayMs: options.namespaceDeletionDelayMs ?? 50,
    crdEstablishDelayMs,
  })
  const crds = new CrdController(rest, crdEstablishDelayMs)
  const controller = new WorkloadController(rest, {
    rolloutDelayMs: options.rolloutDelayMs ?? 50,
    failingImageMarker: options.failingImageMarker ?? 'fail',
    progressDeadlineMs: options.progressDeadlineMs ?? 500,
    nodes: options.nodes ?? 1,
  })
  const faults = new Faults(options.random)
  const log: RecordedRequest[] = []
  let address = ''

  const namespaceScope: Scope = { def: registry.find('', 'v1', 'namespaces')!, version: 'v1' }
  for (const name of options.namespaces ?? DEFAULT_NAMESPACES) {
    rest.create(
      namespaceScope,
      { metadata: { name } },
      new URLSearchParams({ fieldManager: 'kube-apiserver' }),
    )
  }
  controller.start()
  crds.start()

  /** Resource requests: `/api/v1/...` and `/apis/<group>/<version>/...`. */
  function serveResource(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    body: string,
  ): void {
    const path = resourcePath(url.pathname)
    if (!path) throw new PageNotFound()
    // Nothing here: a built-in group answers a Status, any other group has no route at all.
    const missing = () => (isBuiltinGroup(path.group) ? noSuchResource() : new PageNotFound())
    const method = req.method ?? 'GET'
    let segments = path.rest
    if (segments.length === 0) {
      const list = discovery.resourceList(registry, path.group, path.version)
      if (!list) throw missing()
      if (method !== 'GET') throw methodNotAllowed()
      return sendJson(res, 200, list)
    }
    // `/namespaces/<ns>/<resource>…` is namespaced, but `/namespaces/<ns>/status` is the namespace's own.
    let namespace: string | undefined
    if (
      segments[0] === 'namespaces' &&
      segments.length >= 3 &&
      !['status', 'finalize'].includes(segments[2])
    ) {
      namespace = segments[1]
      segments = segments.slice(2)
    }
    const [plural, name, sub, ...extra] = segments
    const def = registry.find(path.group, path.version, plural)
    if (!def || extra.length > 0) throw missing()
    if (namespace !== undefined && !def.namespaced) throw missing()
    if (def.namespaced && namespace === undefined && name !== undefined) throw missing()
    if (
      sub !== undefined &&
      !((sub === 'status' && def.status) || (sub === 'scale' && def.scale))
    ) {
      throw missing()
    }
    const scope: Scope = {
      def,
      version: path.version,
      namespace,
      name,
      subresource: sub === 'status' || sub === 'scale' ? sub : undefined,
    }
    const q = url.searchParams
    const ua = req.headers['user-agent']
    const form = sub === 'scale' ? 'json' : requestedForm(req.headers.accept)
    const includeObject = q.get('includeObject')
    const render = (o: KubeObject): KubeObject =>
      form === 'table'
        ? toTable(def, [o], includeObject, { resourceVersion: o.metadata?.resourceVersion })
        : form === 'metadata'
          ? partialMetadata(o)
          : o

    switch (method) {
      case 'GET': {
        if (['true', '1'].includes(q.get('watch') ?? '')) {
          if (sub) throw methodNotAllowed()
          return serveWatch(rest, scope, q, res, render)
        }
        if (name !== undefined) return sendJson(res, 200, render(rest.get(scope)))
        const list = rest.list(scope, q)
        const items = list.items as KubeObject[]
        if (form === 'table')
          return sendJson(res, 200, toTable(def, items, includeObject, list.metadata))
        if (form === 'metadata') {
          return sendJson(res, 200, {
            kind: 'PartialObjectMetadataList',
            apiVersion: 'meta.k8s.io/v1',
            metadata: list.metadata,
            items: items.map(partialMetadata),
          })
        }
        // Items of built-in kinds leave out kind and apiVersion; custom resource lists say `continue`.
        return sendJson(res, 200, {
          ...list,
          metadata: def.crd ? { continue: '', ...list.metadata } : list.metadata,
          items: items.map((o) => typeless(def, o)),
        })
      }
      case 'POST': {
        if (name !== undefined) throw methodNotAllowed()
        const r = rest.create(scope, parseBody(body), q, ua)
        return sendJson(res, r.code, r.object)
      }
      case 'PUT': {
        if (name === undefined) throw methodNotAllowed()
        const r = rest.update(scope, parseBody(body), q, ua)
        return sendJson(res, r.code, r.object)
      }
      case 'PATCH': {
        if (name === undefined) throw methodNotAllowed()
        const r = rest.patch(scope, req.headers['content-type'] ?? '', body, q, ua)
        return sendJson(res, r.code, r.object)
      }
      case 'DELETE': {
        if (sub) throw methodNotAllowed()
        const r =
          name === undefined ? rest.deleteCollection(scope, body, q) : rest.delete(scope, body, q)
        return sendJson(res, r.code, r.object)
      }
      default:
        throw methodNotAllowed()
    }
  }

  function route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    body: string,
  ): void {
    const p = url.pathname.replace(/\/+$/, '') || '/'
    const get = (answer: () => unknown): void => {
      if (req.method !== 'GET') throw methodNotAllowed()
      const value = answer()
      if (value === undefined) throw noSuchResource()
      sendJson(res, 200, value)
    }
    if (p === '/version') return get(discovery.versionInfo)
    if (['/healthz', '/livez', '/readyz'].includes(p)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      return void res.end('ok')
    }
    if (p === '/api') return get(() => discovery.coreVersions(address))
    if (p === '/apis') return get(() => discovery.groupList(registry))
    const segs = p.split('/').filter(Boolean)
    if (segs[0] === 'apis' && segs.length === 2) {
      if (!discovery.group(registry, segs[1])) throw new PageNotFound()
      return get(() => discovery.group(registry, segs[1]))
    }
    // Everything else, `/openapi/v2` and `/openapi/v3` included, is a resource or a 404
    // (clients are expected to run with --validate=false).
    serveResource(req, res, url, body)
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req)
    const url = new URL(req.url ?? '/', 'http://localhost')
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
      httpVersion: req.httpVersion,
      user: certificateUser(req),
    }
    log.push(record)
    // A reset HTTP/2 stream 'finish'es too: a dropped request keeps its 0.
    res.on('finish', () => (record.status ??= res.statusCode))

    const fault = faults.decide(record.method, req.url ?? '/')
    if (fault?.latencyMs) await sleep(fault.latencyMs)
    if (fault?.drop) {
      record.status = 0
      // Over HTTP/2 the request's own stream is reset: the connection carries others.
      if (req.httpVersionMajor === 2)
        (req as unknown as http2.Http2ServerRequest).stream.close(
          http2.constants.NGHTTP2_INTERNAL_ERROR,
        )
      else req.socket.destroy()
      return
    }
    if (fault?.errorCode === 403) {
      return sendJson(res, 403, forbiddenStatus(record.method, url, record.user ?? 'test-user'))
    }
    if (fault?.errorCode !== undefined) {
      const reason =
        { 429: 'TooManyRequests', 503: 'ServiceUnavailable' }[fault.errorCode] ?? 'InternalError'
      return sendJson(
        res,
        fault.errorCode,
        statusBody(fault.errorCode, reason, `injected fault: ${reason}`),
      )
    }
    if (
      options.requireToken &&
      req.headers.authorization !== `Bearer ${token}` &&
      record.user === undefined
    ) {
      return sendJson(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'))
    }
    try {
      route(req, res, url, decodeBody(req.headers['content-type'], raw))
    } catch (error) {
      sendError(res, error)
    }
  }

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, error)
      else res.destroy()
    })
  }
  // The compatibility API gives HTTP/2 requests the same shape as HTTP/1.1 ones.
  // A client certificate is asked for, not required: a request may still come with a token.
  const tlsOptions = {
    cert: certs?.cert,
    key: certs?.key,
    ...(options.clientCa
      ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: false }
      : {}),
  }
  const server = !certs
    ? http.createServer(listener)
    : options.http2 === false
      ? https.createServer(tlsOptions, listener)
      : http2.createSecureServer(
          { ...tlsOptions, allowHTTP1: true },
          listener as unknown as (
            req: http2.Http2ServerRequest,
            res: http2.Http2ServerResponse,
          ) => void,
        )
  const sockets = new Set<Socket>()
  const dropConnections = () => {
    for (const socket of sockets) socket.destroy()
  }
  server.on('connection', (socket: Socket) => {
    // Nagle's algorithm would hold back each response's last segment for ~40 ms.
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  // Longer than Go's 90 s idle timeout, so kubectl never reuses a connection the server just closed
  // (HTTP/1.1 connections; an HTTP/2 server has no idle timeout unless set).
  ;(server as { keepAliveTimeout?: number }).keepAliveTimeout = 120_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  address = `127.0.0.1:${port}`
  const url = `${useTls ? 'https' : 'http'}://${address}`
  const dir = mkdtempSync(join(tmpdir(), 'kube-api-'))
  const kubeconfigPath = join(dir, 'kubeconfig')
  writeKubeconfig(kubeconfigPath, { server: url, ca: certs?.ca, token })

  const resolve = (ref: Pick<ObjectRef, 'apiVersion' | 'kind'>) => {
    const def = registry.byKind(ref.apiVersion, ref.kind)
    if (!def) throw new Error(`the server does not serve ${ref.apiVersion} ${ref.kind}`)
    return def
  }

  return {
    url,
    kubeconfigPath,
    ca: certs?.ca,
    token,
    faults,
    objects: {
      get(ref) {
        const def = resolve(ref)
        const object = store.get(
          `${def.group}/${def.plural}`,
          def.namespaced ? ref.namespace : undefined,
          ref.name,
        )
        return (
          object && rest.present({ def, version: splitApiVersion(ref.apiVersion).version }, object)
        )
      },
      list(apiVersion, kind, namespace) {
        const def = resolve({ apiVersion, kind })
        return store.list(`${def.group}/${def.plural}`, namespace)
      },
      apply: (object, manager = 'test') => rest.applyObject(object, manager),
      resourceVersion: () => store.resourceVersion,
    },
    requests: {
      all: () => log,
      count: (method, path) =>
        log.filter(
          (r) =>
            (!method || r.method.toUpperCase() === method.toUpperCase()) &&
            (path === undefined ||
              (typeof path === 'string'
                ? r.path === path
                : path.test(r.query ? `${r.path}?${r.query}` : r.path))),
        ).length,
      reset: () => void log.splice(0),
    },
    get controllerBusy() {
      return controller.busy
    },
    request: (method, path, init = {}) => request(url, certs?.ca, token, method, path, init),
    dropConnections,
    async stop() {
      controller.stop()
      crds.stop()
      rest.dispose()
      dropConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A single request over a fresh connection, trusting `ca`. */
function request(
  base: string,
  ca: string | undefined,
  token: string,
  method: string,
  path: string,
  init: { body?: unknown; contentType?: string; headers?: Record<string, string> },
): Promise<ApiResponse> {
  const body =
    init.body === undefined
      ? undefined
      : typeof init.body === 'string'
        ? init.body
        : JSON.stringify(init.body)
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Authorization: `Bearer ${token}`,
    // An explicit length: Node sends bodies of DELETE (and GET) neither chunked nor sized otherwise.
    ...(body !== undefined
      ? {
          'Content-Type': init.contentType ?? 'application/json',
          'Content-Length': String(Buffer.byteLength(body)),
        }
      : {}),
    ...init.headers,
  }
  const target = new URL(path, base)
  const send = target.protocol === 'https:' ? https.request : http.request
  return new Promise((resolve, reject) => {
    const req = send(target, { method, headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = undefined
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}
