// The server's ceiling for the agent benchmarks: the agent's requests (bench-repo.mjs's agentBodies) sent
// raw, from the benchmark's own process or from one of their own. Nothing here loads more than Node's own
// modules, so that the process of their own starts as fast as Node can.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:http2'
import { Agent, request } from 'node:https'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The server's ceiling: `bodies` (from agentBodies) PATCHed straight at the server with server-side apply,
 * `concurrency` at a time, the Namespace first. Over HTTP/1.1 (one kept-alive connection per request in
 * flight) or HTTP/2 (one connection, a stream per request, as client-go sends). Milliseconds.
 * `tls`: `{ ca, cert?, key? }`; `token` for a bearer token.
 */
export async function rawPatches(url, tls, token, bodies, { http2, concurrency = 16 }) {
  const server = new URL(url)
  const headers = {
    'content-type': 'application/apply-patch+yaml',
    accept: 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  }
  const check = (what, status, text, resolve, reject) =>
    status < 300 ? resolve() : reject(new Error(`${what}: ${status} ${text.slice(0, 300)}`))
  let patch
  let close
  if (http2) {
    const session = connect(server.origin, tls)
    // A failed connection or a GOAWAY fails the measurement, not the process.
    const failed = new Promise((_, reject) => session.on('error', reject))
    failed.catch(() => undefined)
    close = () => session.close()
    patch = (b) =>
      new Promise((resolve, reject) => {
        const path = `${b.path}?fieldManager=raw&force=true`
        const stream = session.request({ ':method': 'PATCH', ':path': path, ...headers })
        let status = 0
        let text = ''
        stream.on('response', (h) => (status = h[':status']))
        stream.on('data', (d) => (text += d))
        stream.on('end', () => check(`PATCH ${path}`, status, text, resolve, reject))
        stream.on('error', reject)
        failed.catch(reject)
        stream.end(b.body)
      })
  } else {
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ...tls })
    close = () => agent.destroy()
    patch = (b) =>
      new Promise((resolve, reject) => {
        const path = `${b.path}?fieldManager=raw&force=true`
        const req = request(
          { host: server.hostname, port: server.port, path, method: 'PATCH', agent, headers },
          (res) => {
            let text = ''
            res.on('data', (d) => (text += d))
            res.on('end', () => check(`PATCH ${path}`, res.statusCode, text, resolve, reject))
          },
        )
        req.on('socket', (socket) => socket.setNoDelay(true))
        req.on('error', reject)
        req.end(b.body)
      })
  }
  try {
    const start = process.hrtime.bigint()
    await patch(bodies.find((b) => b.isNs))
    let next = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const b = bodies[next++]
          if (!b.isNs) await patch(b)
        }
      }),
    )
    return Number(process.hrtime.bigint() - start) / 1e6
  } finally {
    close()
  }
}

/**
 * rawPatches over HTTP/1.1 from a Node process of its own, as the agent runs, with everything it needs
 * ready in a JSON file: the least any Node client pays, start-up and exit included (`ms`), and its
 * PATCHes alone (`patchMs`).
 */
export async function rawPatchesProcess(work, url, tls, token, bodies) {
  const input = join(mkdtempSync(join(work, 'raw-')), 'input.json')
  const b64 = (buffer) => buffer?.toString('base64')
  writeFileSync(
    input,
    JSON.stringify({ url, ca: b64(tls.ca), cert: b64(tls.cert), key: b64(tls.key), token, bodies }),
  )
  const start = process.hrtime.bigint()
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), input], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const code = await new Promise((resolve) => child.on('close', resolve))
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (code !== 0) throw new Error(`raw PATCHes in their own process exited ${code}: ${out}`)
  return { ms, patchMs: Number(/patchMs=([\d.]+)/.exec(out)[1]) }
}

// `node raw-patches.mjs <input.json>`: the process rawPatchesProcess runs.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url, ca, cert, key, token, bodies } = JSON.parse(readFileSync(process.argv[2], 'utf8'))
  const buf = (b64) => (b64 ? Buffer.from(b64, 'base64') : undefined)
  const tls = { ca: buf(ca), cert: buf(cert), key: buf(key) }
  console.log(`patchMs=${await rawPatches(url, tls, token, bodies, { http2: false })}`)
}
