/**
 * A TCP pass-through in front of a server that can be shut and opened again on the same port: while
 * shut, connections are refused and the open ones are cut, as when an API server restarts or its node
 * goes away. TLS passes through untouched (the server's certificate names 127.0.0.1, as the gate does).
 */
import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net'
import { join } from 'node:path'
import type { KubeApiServer } from './kube-api/index.js'
import { writeKubeconfig } from './kube-api/kubeconfig.js'
import { tempDir } from './tmp.js'

export class TcpGate {
  private server?: Server
  private readonly sockets = new Set<Socket>()
  private constructor(
    private readonly target: { host: string; port: number },
    /** The gate's own port, kept across shut and open. */
    public port: number,
  ) {}

  /** A gate on a free port of 127.0.0.1 in front of `targetUrl` (`https://127.0.0.1:1234`), open. */
  static async open(targetUrl: string): Promise<TcpGate> {
    const url = new URL(targetUrl)
    const gate = new TcpGate({ host: url.hostname, port: Number(url.port) }, 0)
    await gate.open()
    return gate
  }

  /** Starts accepting on the gate's port again. */
  async open(): Promise<void> {
    if (this.server) return
    const server = createServer((client) => this.pipe(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  /** Stops accepting (connections are refused) and cuts every open connection. */
  async shut(): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const socket of this.sockets) socket.destroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  get isOpen(): boolean {
    return this.server !== undefined
  }

  /** A kubeconfig for the test API server `api`, reached through this gate. */
  kubeconfig(api: Pick<KubeApiServer, 'url' | 'ca' | 'token'>): string {
    const path = join(tempDir('gitops-gate-'), 'kubeconfig')
    const url = new URL(api.url)
    writeKubeconfig(path, {
      server: `${url.protocol}//127.0.0.1:${this.port}`,
      ca: api.ca,
      token: api.token,
    })
    return path
  }

  private pipe(client: Socket): void {
    const upstream = createConnection(this.target)
    for (const socket of [client, upstream]) {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
      // A cut connection is the point of the gate: its errors are expected.
      socket.on('error', () => undefined)
    }
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }
}
