/**
 * The real cluster that `npm run test:cluster` starts once (test/cluster/global-setup.mjs), for tests:
 * kubectl against it, raw HTTPS requests with the admin's client certificate, polling until the
 * controllers have done their part.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as https from 'node:https'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { kubectl as kubectlPath } from '../support/paths.js'
import { tempDir } from '../support/tmp.js'

const execFileAsync = promisify(execFile)

/** The admin kubeconfig of the running cluster. */
export function clusterKubeconfig(): string {
  const path = process.env.GITOPS_TEST_KUBECONFIG
  if (!path) throw new Error('no cluster: run these tests with `npm run test:cluster`')
  return path
}

/**
 * `describe` when a cluster runs (`npm run test:cluster`), else `describe.skip`: a file run by another
 * jest config skips rather than fails for want of a cluster.
 */
export const describeCluster = process.env.GITOPS_TEST_KUBECONFIG ? describe : describe.skip

/** A name nobody else in this run uses (namespaces are shared by all test files of the run). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`
}

let cacheDir: string | undefined

/** Runs the pinned kubectl against the cluster; resolves with stdout, rejects with stderr. */
export async function kubectl(...args: string[]): Promise<string> {
  cacheDir ??= tempDir('gitops-kubectl-cache-')
  try {
    const { stdout } = await execFileAsync(
      kubectlPath,
      [`--kubeconfig=${clusterKubeconfig()}`, `--cache-dir=${cacheDir}`, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
    )
    return stdout
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`kubectl ${args.join(' ')}: ${e.stderr || e.message}`)
  }
}

/** `kubectl get -o json` of one object (managedFields too), or undefined when it does not exist. */
export async function getObject(resource: string, name: string, namespace?: string): Promise<any> {
  const ns = namespace ? [`--namespace=${namespace}`] : []
  const out = await kubectl(
    'get',
    resource,
    name,
    ...ns,
    '--ignore-not-found',
    '--show-managed-fields',
    '-o',
    'json',
  )
  return out.trim() ? JSON.parse(out) : undefined
}

/** `kubectl get -o json` of a list (items only). */
export async function listObjects(
  resource: string,
  namespace: string,
  selector?: string,
): Promise<any[]> {
  const sel = selector ? [`--selector=${selector}`] : []
  return JSON.parse(
    await kubectl('get', resource, `--namespace=${namespace}`, ...sel, '-o', 'json'),
  ).items
}

/**
 * Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs` with
 * `what` and the last value seen: controllers act eventually, tests wait for them, never sleep blindly.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
      last = value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last)
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what} (last: ${detail})`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** An answer to `request()`, shaped like the Node test server's `ApiResponse`. */
export interface ClusterResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  body: any
}

interface Credentials {
  server: URL
  ca: Buffer
  cert: Buffer
  key: Buffer
}

let credentials: Credentials | undefined

function readCredentials(): Credentials {
  if (credentials) return credentials
  const config = parse(readFileSync(clusterKubeconfig(), 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[]
  }
  const b64 = (s: string) => Buffer.from(s, 'base64')
  credentials = {
    server: new URL(config.clusters[0].cluster.server),
    ca: b64(config.clusters[0].cluster['certificate-authority-data']),
    cert: b64(config.users[0].user['client-certificate-data']),
    key: b64(config.users[0].user['client-key-data']),
  }
  return credentials
}

/** One HTTPS request to the cluster as its admin, for tests of the protocol itself. */
export function request(
  method: string,
  path: string,
  init: { body?: unknown; contentType?: string; headers?: Record<string, string> } = {},
): Promise<ClusterResponse> {
  const { server, ca, cert, key } = readCredentials()
  const payload =
    init.body === undefined
      ? undefined
      : typeof init.body === 'string'
        ? init.body
        : JSON.stringify(init.body)
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: server.hostname,
        port: server.port,
        method,
        path,
        ca,
        cert,
        key,
        headers: {
          accept: 'application/json',
          // Node sends a DELETE's body unframed unless told its length: the server would read past it.
          ...(payload !== undefined
            ? {
                'content-type': init.contentType ?? 'application/json',
                'content-length': String(Buffer.byteLength(payload)),
              }
            : {}),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          let body: unknown
          try {
            body = JSON.parse(text)
          } catch {
            body = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

/** The server's URL, CA and admin client certificate, for a proxy in front of it. */
export function clusterCredentials(): Credentials {
  return readCredentials()
}

/** Asserts a bundle's exit code; when it differs, the failure shows what the program printed. */
export function expectExit(
  run: { code: number; stdout: string; stderr: string },
  code: number,
): void {
  if (run.code !== code) {
    throw new Error(`exit code ${run.code}, expected ${code}; output:\n${run.stdout}${run.stderr}`)
  }
}
