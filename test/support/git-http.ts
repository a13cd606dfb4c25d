/**
 * A git smart-HTTP server on 127.0.0.1: git's own `git http-backend` (CGI) behind a small Node bridge that
 * asks for a token by HTTP basic auth, as GitHub and GitLab do. For testing token logins for real.
 */
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface GitHttpServer {
  /** The clone URL of a bare repository on disk. */
  url(repoPath: string): string
  /** Called on every request that passed authentication (e.g. to look at the client's disk meanwhile). */
  onRequest?: (path: string) => void
  /** How many of the next authenticated requests get a 503 (a host that is briefly down). */
  failNext: number
  close(): Promise<void>
}

/** Serves every bare repository under `root`; the user must be `user` and the password `token`. */
export async function startGitHttp(
  root: string,
  user: string,
  token: string,
): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`
  const self: Partial<GitHttpServer> = { failNext: 0 }
  const server: Server = createServer((req, res) => {
    // The scheme is case-insensitive (git sends `basic`).
    const given = req.headers.authorization?.replace(/^basic /i, 'Basic ')
    if (given !== expected) {
      req.resume()
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' })
      res.end('Authentication failed\n')
      return
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    self.onRequest?.(url.pathname)
    if (self.failNext! > 0) {
      self.failNext!--
      req.resume()
      res.writeHead(503, { 'Content-Type': 'text/plain' })
      res.end('Service Unavailable\n')
      return
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: user, // lets receive-pack (push) through
        REQUEST_METHOD: req.method,
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: (req.headers['git-protocol'] as string | undefined) ?? '',
      },
    })
    req.pipe(cgi.stdin)
    let head = Buffer.alloc(0)
    let headersDone = false
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk)
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      headersDone = true
      let status = 200
      const headers: Record<string, string> = {}
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':')
        const key = line.slice(0, i).trim()
        const value = line.slice(i + 1).trim()
        if (key.toLowerCase() === 'status') status = parseInt(value, 10)
        else headers[key] = value
      }
      res.writeHead(status, headers)
      res.write(head.subarray(end + 4))
    })
    cgi.on('close', () => res.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  self.url = (repoPath: string) => `http://127.0.0.1:${port}${repoPath.slice(root.length)}`
  self.close = () => new Promise((resolve) => server.close(() => resolve()))
  return self as GitHttpServer
}
