/** GitLab's REST API (v4), as publish (merge requests) and the agent (commit statuses) call it. */

export interface GitlabApi {
  /** `https://gitlab.com/api/v4`, or a self-managed instance's. */
  apiUrl: string
  token: string
}

/**
 * One call with the token in GitLab's own header; the answer's JSON. A failure says which call (without
 * its query), the status and the start of what GitLab answered.
 */
export async function gitlabCall<T>(
  api: GitlabApi,
  method: string,
  path: string,
  options: { body?: object; timeoutMs?: number } = {},
): Promise<T> {
  const url = `${api.apiUrl.replace(/\/+$/, '')}${path}`
  const response = await fetch(url, {
    method,
    headers: { 'PRIVATE-TOKEN': api.token, 'Content-Type': 'application/json' },
    body: options.body ? JSON.stringify(options.body) : undefined,
    signal: options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
  })
  const text = await response.text()
  if (!response.ok) {
    throw new Error(
      `GitLab API ${method} ${url.replace(/\?.*/, '')}: ${response.status} ${text.slice(0, 300)}`,
    )
  }
  try {
    return (text ? JSON.parse(text) : undefined) as T
  } catch {
    throw new Error(
      `GitLab API ${method} ${url.replace(/\?.*/, '')}: the answer is not JSON: ${text.slice(0, 120)}`,
    )
  }
}
