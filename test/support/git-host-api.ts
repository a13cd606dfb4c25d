/**
 * A local HTTP server with the routes of GitHub's and GitLab's REST APIs that the tool calls (pull and
 * merge requests, commit statuses; later deploy keys), keeping what it was sent so tests can check it.
 * The tool reaches it through its real clients (`@actions/github`'s Octokit, `fetch`).
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

export interface GitHostApi {
  url: string
  /** Every request: method, path and query, and the Authorization/PRIVATE-TOKEN header seen. */
  requests: { method: string; path: string; auth?: string }[]
  pulls: PullRequest[]
  statuses: CommitStatus[]
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

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** Starts the server on 127.0.0.1; `token` is the only credential it accepts. */
export async function startGitHostApi(token: string): Promise<GitHostApi> {
  const api: Omit<GitHostApi, 'url' | 'close'> = { requests: [], pulls: [], statuses: [] }
  let base = ''
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
      const auth = req.headers.authorization ?? (req.headers['private-token'] as string | undefined)
      api.requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, auth })
      const body = await readBody(req)
      if (auth !== `token ${token}` && auth !== `Bearer ${token}` && auth !== token) {
        return send(res, 401, { message: 'Bad credentials' })
      }
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
    url: base,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
