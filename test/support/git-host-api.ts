/**
 * A local HTTP server with the routes of GitHub's and GitLab's REST APIs that the tool calls (pull and
 * merge requests, commit statuses, deploy keys), keeping what it was sent so tests can check it.
 * The tool reaches it through its real clients (`@actions/github`'s Octokit, `fetch`). GitHub's routes
 * also answer under `/api/v3`, as GitHub Enterprise serves them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface PullRequest {
  number: number
  head: string
  base: string
  title: string
  body: string
  state: 'open' | 'closed'
}

export interface CommitStatus {
  /** `owner/name` (GitHub) or the decoded project path (GitLab). */
  project: string
  sha: string
  /** As sent: GitHub's `pending|success|failure`, GitLab's `pending|success|failed`. */
  state: string
  context: string
  description: string
}

export interface DeployKey {
  /** `owner/name` (GitHub) or the decoded project path (GitLab). */
  project: string
  id: number
  title: string
  /** As the host keeps it: GitHub drops the comment, GitLab keeps the line as sent. */
  key: string
  readOnly: boolean
}

export interface GitHostApi {
  url: string
  /**
   * Every request: method, path (as sent, `/api/v3` included) and query, the Authorization/PRIVATE-TOKEN
   * header seen, and the JSON body if there was one.
   */
  requests: { method: string; path: string; auth?: string; body?: Record<string, unknown> }[]
  pulls: PullRequest[]
  statuses: CommitStatus[]
  /** The deploy keys of every project; tests may add keys (`addDeployKey`) or read them. */
  deployKeys: DeployKey[]
  /** Adds a key as if someone had registered it by hand (GitHub keeps no comment); returns its id. */
  addDeployKey(key: Omit<DeployKey, 'id'>): number
  /**
   * From now on, the deploy key routes answer as they do to a token without the rights: 403, or 404 as
   * when the token cannot see the repository; `undefined` to answer normally again.
   */
  refuseDeployKeys(status: 403 | 404 | undefined): void
  close(): Promise<void>
}

function readBody(req: IncomingMessage): Promise<Record<string, string | undefined>> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.on('data', (d: Buffer) => (text += d.toString()))
    req.on('end', () =>
      resolve(text ? (JSON.parse(text) as Record<string, string | undefined>) : {}),
    )
    req.on('error', reject)
  })
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (status === 204) {
    res.writeHead(204, headers)
    res.end()
    return
  }
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

/** `type base64` of a public key line, or undefined if it is not one. */
function keyIdentity(line: unknown): string | undefined {
  const [type, body] = (typeof line === 'string' ? line : '').trim().split(/\s+/)
  return /^(ssh-|ecdsa-|sk-)[\w@.-]+$/.test(type ?? '') && /^AAAA[A-Za-z0-9+/]+=*$/.test(body ?? '')
    ? `${type} ${body}`
    : undefined
}

/** One page of `items` by the request's `page` and `per_page` (GitHub's default 30, GitLab's 20). */
function page<T>(items: T[], url: URL, defaultPerPage: number): { items: T[]; next?: number } {
  const perPage = Math.min(Number(url.searchParams.get('per_page') ?? defaultPerPage), 100)
  const n = Number(url.searchParams.get('page') ?? 1)
  const more = items.length > n * perPage
  return { items: items.slice((n - 1) * perPage, n * perPage), next: more ? n + 1 : undefined }
}

/** Starts the server on 127.0.0.1; `token` is the only credential it accepts. */
export async function startGitHostApi(token: string): Promise<GitHostApi> {
  const api: Pick<GitHostApi, 'requests' | 'pulls' | 'statuses' | 'deployKeys'> = {
    requests: [],
    pulls: [],
    statuses: [],
    deployKeys: [],
  }
  let base = ''
  let refuseDeployKeys: 403 | 404 | undefined
  let lastKeyId = 1000
  const addDeployKey = (key: Omit<DeployKey, 'id'>): number => {
    api.deployKeys.push({ ...key, id: ++lastKeyId })
    return lastKeyId
  }
  const githubKey = (k: DeployKey) => ({
    id: k.id,
    key: k.key,
    url: `${base}/repos/${k.project}/keys/${k.id}`,
    title: k.title,
    verified: true,
    created_at: '2026-01-01T00:00:00Z',
    read_only: k.readOnly,
  })
  const gitlabKey = (k: DeployKey) => ({
    id: k.id,
    title: k.title,
    key: k.key,
    created_at: '2026-01-01T00:00:00.000Z',
    expires_at: null,
    can_push: !k.readOnly,
  })

  /** GitHub's `/repos/:owner/:repo/keys[/:id]`, or undefined when the path is not one of them. */
  const githubDeployKeys = (
    method: string,
    url: URL,
    received: string,
    body: Record<string, unknown>,
  ): [number, unknown, Record<string, string>?] | undefined => {
    const m = /^\/repos\/([^/]+)\/([^/]+)\/keys(?:\/(\d+))?$/.exec(url.pathname)
    if (!m) return undefined
    if (refuseDeployKeys === 403) {
      return [403, { message: 'Resource not accessible by personal access token', status: '403' }]
    }
    if (refuseDeployKeys === 404) return [404, { message: 'Not Found', status: '404' }]
    const project = `${m[1]}/${m[2]}`
    const mine = api.deployKeys.filter((k) => k.project === project)
    if (method === 'GET' && !m[3]) {
      const { items, next } = page(mine, url, 30)
      const link = new URL(received, base)
      link.searchParams.set('page', String(next))
      return [200, items.map(githubKey), next ? { Link: `<${link.href}>; rel="next"` } : {}]
    }
    if (method === 'POST' && !m[3]) {
      const key = keyIdentity(body.key)
      const invalid = (message: string) =>
        [
          422,
          { message: 'Validation Failed', errors: [{ field: 'key', code: 'custom', message }] },
        ] as [number, unknown]
      if (!key) return invalid('key is invalid. It must begin with ...')
      // GitHub: one key, one repository (and not a user key as well)
      if (api.deployKeys.some((k) => keyIdentity(k.key) === key))
        return invalid('key is already in use')
      // read_only is false unless sent
      const id = addDeployKey({
        project,
        title: typeof body.title === 'string' ? body.title : '',
        key,
        readOnly: body.read_only === true,
      })
      return [201, githubKey(api.deployKeys.find((k) => k.id === id)!)]
    }
    if (method === 'DELETE' && m[3]) {
      const at = api.deployKeys.findIndex((k) => k.project === project && k.id === Number(m[3]))
      if (at < 0) return [404, { message: 'Not Found', status: '404' }]
      api.deployKeys.splice(at, 1)
      return [204, undefined]
    }
    return undefined
  }

  /** GitLab's `/api/v4/projects/:id/deploy_keys[/:key_id]`, or undefined when the path is not one. */
  const gitlabDeployKeys = (
    method: string,
    url: URL,
    body: Record<string, unknown>,
  ): [number, unknown, Record<string, string>?] | undefined => {
    const m = /^\/api\/v4\/projects\/([^/]+)\/deploy_keys(?:\/(\d+))?$/.exec(url.pathname)
    if (!m) return undefined
    if (refuseDeployKeys === 403) return [403, { message: '403 Forbidden' }]
    if (refuseDeployKeys === 404) return [404, { message: '404 Project Not Found' }]
    const project = decodeURIComponent(m[1])
    const mine = api.deployKeys.filter((k) => k.project === project)
    if (method === 'GET' && !m[2]) {
      const { items, next } = page(mine, url, 20)
      return [200, items.map(gitlabKey), next ? { 'X-Next-Page': String(next) } : {}]
    }
    if (method === 'POST' && !m[2]) {
      const key = keyIdentity(body.key)
      if (typeof body.title !== 'string' || !body.title) return [400, { error: 'title is missing' }]
      if (!key) return [400, { message: { key: ['is invalid'] } }]
      if (mine.some((k) => keyIdentity(k.key) === key)) {
        return [400, { message: { 'deploy_key.fingerprint_sha256': ['has already been taken'] } }]
      }
      // can_push is false unless sent
      const id = addDeployKey({
        project,
        title: body.title,
        key: (body.key as string).trim(),
        readOnly: body.can_push !== true,
      })
      return [201, gitlabKey(api.deployKeys.find((k) => k.id === id)!)]
    }
    if (method === 'DELETE' && m[2]) {
      const at = api.deployKeys.findIndex((k) => k.project === project && k.id === Number(m[2]))
      if (at < 0) return [404, { message: '404 Deploy Key Not Found' }]
      api.deployKeys.splice(at, 1)
      return [204, undefined]
    }
    return undefined
  }
  const githubPull = (p: PullRequest) => ({
    number: p.number,
    html_url: `${base}/acme/gitops/pull/${p.number}`,
    title: p.title,
    body: p.body,
    state: p.state,
    head: { ref: p.head },
    base: { ref: p.base },
  })
  const gitlabMr = (p: PullRequest) => ({
    iid: p.number,
    web_url: `${base}/acme/gitops/-/merge_requests/${p.number}`,
    title: p.title,
    description: p.body,
    state: p.state === 'open' ? 'opened' : 'closed',
    source_branch: p.head,
    target_branch: p.base,
  })

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const received = `${url.pathname}${url.search}`
      // GitHub Enterprise serves the same routes under /api/v3
      url.pathname = url.pathname.replace(/^\/api\/v3(?=\/repos\/)/, '')
      const auth = req.headers.authorization ?? (req.headers['private-token'] as string | undefined)
      const body = await readBody(req)
      api.requests.push({
        method: req.method ?? '',
        path: received,
        auth,
        ...(Object.keys(body).length > 0 ? { body } : {}),
      })
      if (auth !== `token ${token}` && auth !== `Bearer ${token}` && auth !== token) {
        return send(res, 401, { message: 'Bad credentials' })
      }
      const keys =
        githubDeployKeys(req.method ?? '', url, received, body) ??
        gitlabDeployKeys(req.method ?? '', url, body)
      if (keys) return send(res, ...keys)
      // GitHub: POST /repos/:owner/:repo/statuses/:sha
      let s = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(url.pathname)
      if (s && req.method === 'POST') {
        if (!['pending', 'success', 'failure', 'error'].includes(String(body.state)))
          return send(res, 422, { message: 'Validation Failed' })
        api.statuses.push({
          project: `${s[1]}/${s[2]}`,
          sha: s[3],
          state: String(body.state),
          context: String(body.context),
          description: String(body.description ?? ''),
        })
        return send(res, 201, { state: body.state, context: body.context })
      }
      // GitLab: POST /api/v4/projects/:id/statuses/:sha
      s = /^\/api\/v4\/projects\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(url.pathname)
      if (s && req.method === 'POST') {
        if (!['pending', 'running', 'success', 'failed', 'canceled'].includes(String(body.state)))
          return send(res, 400, { message: 'state is invalid' })
        api.statuses.push({
          project: decodeURIComponent(s[1]),
          sha: s[2],
          state: String(body.state),
          context: String(body.name),
          description: String(body.description ?? ''),
        })
        return send(res, 201, { status: body.state, name: body.name })
      }
      // GitHub: /repos/:owner/:repo/pulls[/:number]
      let m = /^\/repos\/([^/]+)\/([^/]+)\/pulls(?:\/(\d+))?$/.exec(url.pathname)
      if (m) {
        if (req.method === 'GET' && !m[3]) {
          const head = url.searchParams.get('head')?.split(':').pop()
          const found = api.pulls.filter(
            (p) =>
              p.state === url.searchParams.get('state') &&
              (!head || p.head === head) &&
              (!url.searchParams.get('base') || p.base === url.searchParams.get('base')),
          )
          return send(res, 200, found.map(githubPull))
        }
        if (req.method === 'POST' && !m[3]) {
          if (api.pulls.some((p) => p.state === 'open' && p.head === body.head)) {
            return send(res, 422, {
              message: 'Validation Failed',
              errors: [{ message: `A pull request already exists for ${String(body.head)}.` }],
            })
          }
          const pr: PullRequest = {
            number: api.pulls.length + 1,
            head: String(body.head),
            base: String(body.base),
            title: String(body.title),
            body: String(body.body ?? ''),
            state: 'open',
          }
          api.pulls.push(pr)
          return send(res, 201, githubPull(pr))
        }
        if (req.method === 'PATCH' && m[3]) {
          const pr = api.pulls.find((p) => p.number === Number(m![3]))
          if (!pr) return send(res, 404, { message: 'Not Found' })
          Object.assign(pr, { title: body.title ?? pr.title, body: body.body ?? pr.body })
          return send(res, 200, githubPull(pr))
        }
      }
      // GitLab: /api/v4/projects/:id/merge_requests[/:iid]
      m = /^\/api\/v4\/projects\/([^/]+)\/merge_requests(?:\/(\d+))?$/.exec(url.pathname)
      if (m) {
        if (req.method === 'GET' && !m[2]) {
          const state = url.searchParams.get('state') === 'opened' ? 'open' : 'closed'
          return send(
            res,
            200,
            api.pulls
              .filter((p) => p.state === state && p.head === url.searchParams.get('source_branch'))
              .map(gitlabMr),
          )
        }
        if (req.method === 'POST' && !m[2]) {
          const pr: PullRequest = {
            number: api.pulls.length + 1,
            head: String(body.source_branch),
            base: String(body.target_branch),
            title: String(body.title),
            body: String(body.description ?? ''),
            state: 'open',
          }
          api.pulls.push(pr)
          return send(res, 201, gitlabMr(pr))
        }
        if (req.method === 'PUT' && m[2]) {
          const pr = api.pulls.find((p) => p.number === Number(m[2]))
          if (!pr) return send(res, 404, { message: '404 Not found' })
          Object.assign(pr, { title: body.title ?? pr.title, body: body.description ?? pr.body })
          return send(res, 200, gitlabMr(pr))
        }
      }
      send(res, 404, { message: `no route ${req.method} ${url.pathname}` })
    })().catch((error: Error) => send(res, 500, { message: error.message }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    ...api,
    get pulls() {
      return api.pulls
    },
    get requests() {
      return api.requests
    },
    get statuses() {
      return api.statuses
    },
    get deployKeys() {
      return api.deployKeys
    },
    addDeployKey,
    refuseDeployKeys: (status) => {
      refuseDeployKeys = status
    },
    url: base,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
