/**
 * An HTTP proxy that answers CONNECT only, as corporate proxies in front of an API server do: it opens a
 * TCP tunnel to the asked host and port and passes bytes both ways (TLS to the API server runs inside).
 * With `credentials` it answers 407 to a CONNECT without the matching `Proxy-Authorization`. It records
 * each CONNECT, so a test can tell what went through it and with which header.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'

export interface ProxiedConnect {
  /** `host:port` as asked. */
  target: string
  proxyAuthorization?: string
  /** The proxy's answer. */
  status: number
}

export interface ConnectProxy {
  /** `http://127.0.0.1:<port>` (without credentials). */
  readonly url: string
  readonly connects: ProxiedConnect[]
  stop(): Promise<void>
}

/** Starts the proxy on a free port of 127.0.0.1. */
export async function startConnectProxy(
  options: { credentials?: { user: string; password: string } } = {},
): Promise<ConnectProxy> {
  const expected = options.credentials
    ? `Basic ${Buffer.from(`${options.credentials.user}:${options.credentials.password}`).toString('base64')}`
    : undefined
  const connects: ProxiedConnect[] = []
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  const server: Server = createServer((_req, res) => {
    res.writeHead(405, { Allow: 'CONNECT' }).end('this proxy answers CONNECT only\n')
  })
  server.on('connection', track)
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const record: ProxiedConnect = {
      target: req.url ?? '',
      proxyAuthorization: req.headers['proxy-authorization'],
      status: 0,
    }
    connects.push(record)
    const refuse = (status: number, text: string, headers = '') => {
      record.status = status
      client.end(`HTTP/1.1 ${status} ${text}\r\n${headers}Content-Length: 0\r\n\r\n`)
    }
    if (expected && record.proxyAuthorization !== expected)
      return refuse(
        407,
        'Proxy Authentication Required',
        'Proxy-Authenticate: Basic realm="test"\r\n',
      )
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(record.target)
    if (!match) return refuse(400, 'Bad Request')
    const upstream = connect(Number(match[2]), match[1])
    track(upstream)
    upstream.on('connect', () => {
      record.status = 200
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => (record.status ? client.destroy() : refuse(502, 'Bad Gateway')))
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    stop: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
