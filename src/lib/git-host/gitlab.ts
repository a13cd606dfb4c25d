/** GitLab's REST API (v4), as publish (merge requests) and the agent (commit statuses) call it. */
import { errorMessage } from '../errors.js'
import { GitHostApiError } from './host.js'

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
  const call = `GitLab API ${method} ${url.replace(/\?.*/, '')}`
  let response: Response
  let text: string
  try {
    response = await fetch(url, {
      method,
      headers: { 'PRIVATE-TOKEN': api.token, 'Content-Type': 'application/json' },
      body: options.body ? JSON.stringify(options.body) : undefined,
      signal: options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
    })
    text = await response.text()
  } catch (error) {
    throw new GitHostApiError(`${call}: ${errorMessage(error)}`)
  }
  if (!response.ok) {
    throw new GitHostApiError(`${call}: ${response.status} ${text.slice(0, 300)}`, response.status)
  }
  try {
    return (text ? JSON.parse(text) : undefined) as T
  } catch {
    throw new GitHostApiError(`${call}: the answer is not JSON: ${text.slice(0, 120)}`)
  }
}
