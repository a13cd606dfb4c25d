/**
 * The deploy keys of one repository on GitHub (`repos.*DeployKey*` through Octokit) or GitLab (the
 * project's `deploy_keys`): how the sync agent's public key is registered, read-only, and found again.
 */
import { ConfigurationError, errorMessage } from '../errors.js'
import { githubCall, githubRepository } from './github.js'
import { gitlabCall } from './gitlab.js'
import { GitHostApiError, type GitHostApi } from './host.js'

export interface DeployKey {
  id: number
  title: string
  /** `ssh-ed25519 AAAA…`, as the host keeps it (GitHub drops the comment, GitLab keeps it). */
  key: string
  /** False when the key may push. */
  readOnly: boolean
}

export interface DeployKeySpec {
  title: string
  /** An OpenSSH public key line, `type base64 [comment]`. */
  publicKey: string
}

/** A host lists this many keys a page; a project with more pages than the cap is not read to the end. */
const PER_PAGE = 100
const MAX_PAGES = 50

/**
 * Registers `spec.publicKey` read-only unless the repository has it already: the same key (type and
 * base64 body; titles and comments may differ) is kept as it is. A key that is there with write access
 * is refused, never kept: an agent only reads, and a key that can push is a risk to remove by hand.
 */
export async function ensureDeployKey(
  api: GitHostApi,
  project: string,
  spec: DeployKeySpec,
): Promise<{ id: number; created: boolean }> {
  const found = await findDeployKey(api, project, spec.publicKey)
  if (found) return { id: keptReadOnly(found, project).id, created: false }
  try {
    return { id: (await createDeployKey(api, project, spec)).id, created: true }
  } catch (error) {
    // Another job may have registered it meanwhile (GitHub: 422 in use; GitLab: 400 taken)
    const raced = error instanceof GitHostApiError && [400, 422].includes(error.status ?? 0)
    const now = raced ? await findDeployKey(api, project, spec.publicKey) : undefined
    if (!now) throw error
    return { id: keptReadOnly(now, project).id, created: false }
  }
}

/** Every deploy key of the repository. */
export async function listDeployKeys(api: GitHostApi, project: string): Promise<DeployKey[]> {
  return withPermissionHint(api, project, async () => {
    if (api.host === 'gitlab') {
      type GitlabKey = { id: number; title: string; key: string; can_push: boolean }
      const keys: DeployKey[] = []
      for (let page = 1; page <= MAX_PAGES; page++) {
        const query = new URLSearchParams({ per_page: `${PER_PAGE}`, page: `${page}` })
        const batch = await gitlabCall<GitlabKey[]>(api, 'GET', `${keysPath(project)}?${query}`)
        keys.push(...batch.map((k) => ({ ...pick(k), readOnly: !k.can_push })))
        if (batch.length < PER_PAGE) break
      }
      return keys
    }
    const { octokit, owner, repo } = await githubRepository(api.apiUrl, api.token, project)
    const keys = await githubCall('list deploy keys', () =>
      octokit.paginate(octokit.rest.repos.listDeployKeys, { owner, repo, per_page: PER_PAGE }),
    )
    return keys.map((k) => ({ ...pick(k), readOnly: k.read_only }))
  })
}

/** The repository's deploy key with the same public key (comments aside), if it has one. */
export async function findDeployKey(
  api: GitHostApi,
  project: string,
  publicKey: string,
): Promise<DeployKey | undefined> {
  const wanted = keyIdentity(publicKey)
  return (await listDeployKeys(api, project)).find((k) => safeIdentity(k.key) === wanted)
}

/** Registers a deploy key that can only read (`read_only: true`, `can_push: false`). */
export async function createDeployKey(
  api: GitHostApi,
  project: string,
  spec: DeployKeySpec,
): Promise<DeployKey> {
  const key = keyIdentity(spec.publicKey)
  return withPermissionHint(api, project, async () => {
    if (api.host === 'gitlab') {
      type GitlabKey = { id: number; title: string; key: string; can_push: boolean }
      const body = { title: spec.title, key, can_push: false }
      const made = await gitlabCall<GitlabKey>(api, 'POST', keysPath(project), { body })
      return { ...pick(made), readOnly: !made.can_push }
    }
    const { octokit, owner, repo } = await githubRepository(api.apiUrl, api.token, project)
    const made = await githubCall('create a deploy key', () =>
      octokit.rest.repos.createDeployKey({ owner, repo, title: spec.title, key, read_only: true }),
    ).catch((error: unknown) => {
      if (!(error instanceof GitHostApiError) || !/already in use/.test(error.message)) throw error
      throw new GitHostApiError(
        `${error.message}: GitHub takes a key as the deploy key of one repository only, and not ` +
          'as a user key as well: give this repository a key of its own',
        error.status,
      )
    })
    return { ...pick(made.data), readOnly: made.data.read_only }
  })
}

/**
 * Deletes deploy key `id`; false when the repository no longer has it (a host answers 404 both for a
 * missing key and for a token that may not see the keys: the list tells the two apart).
 */
export async function deleteDeployKey(
  api: GitHostApi,
  project: string,
  id: number,
): Promise<boolean> {
  try {
    await withPermissionHint(api, project, async () => {
      if (api.host === 'gitlab') {
        await gitlabCall(api, 'DELETE', `${keysPath(project)}/${id}`)
        return
      }
      const { octokit, owner, repo } = await githubRepository(api.apiUrl, api.token, project)
      await githubCall(`delete deploy key ${id}`, () =>
        octokit.rest.repos.deleteDeployKey({ owner, repo, key_id: id }),
      )
    })
    return true
  } catch (error) {
    if (!(error instanceof GitHostApiError) || error.status !== 404) throw error
    const keys = await listDeployKeys(api, project).catch(() => undefined)
    if (!keys || keys.some((k) => k.id === id)) throw error
    return false
  }
}

/** Whether two public key lines are the same key: type and base64 body, whatever the comments. */
export function samePublicKey(a: string, b: string): boolean {
  return safeIdentity(a) !== undefined && safeIdentity(a) === safeIdentity(b)
}

// Helpers

function keptReadOnly(key: DeployKey, project: string): DeployKey {
  if (key.readOnly) return key
  throw new GitHostApiError(
    `the deploy key "${key.title}" (id ${key.id}) of ${project} is this public key with write ` +
      'access, and the sync agent must only read: delete that deploy key on the git host, then run ' +
      'again to register the key read-only',
  )
}

function keysPath(project: string): string {
  return `/projects/${encodeURIComponent(project)}/deploy_keys`
}

function pick(k: { id: number; title: string; key: string }) {
  return { id: k.id, title: k.title, key: k.key }
}

/** `type base64` of a public key line, the part hosts compare; a ConfigurationError for anything else. */
function keyIdentity(publicKey: string): string {
  const identity = safeIdentity(publicKey)
  if (!identity) {
    throw new ConfigurationError(
      'the deploy key must be an OpenSSH public key line (ssh-ed25519 AAAA… or ssh-rsa AAAA…)',
    )
  }
  return identity
}

function safeIdentity(publicKey: string): string | undefined {
  const [type, body] = publicKey.trim().split(/\s+/)
  const valid = /^[a-z0-9@.-]+$/i.test(type ?? '') && /^AAAA[A-Za-z0-9+/]+=*$/.test(body ?? '')
  return valid ? `${type} ${body}` : undefined
}

/**
 * Runs calls of the deploy keys API; a 401, 403 or 404 says which right the token lacks, after what the
 * host said.
 */
async function withPermissionHint<T>(
  api: GitHostApi,
  project: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call()
  } catch (error) {
    const status = error instanceof GitHostApiError ? error.status : undefined
    if (status !== 401 && status !== 403 && status !== 404) throw error
    throw new GitHostApiError(
      `${errorMessage(error)}: ${permissionHint(api, project, status)}`,
      status,
    )
  }
}

function permissionHint(api: GitHostApi, project: string, status: 401 | 403 | 404): string {
  if (status === 401) return 'the token is not valid (mistyped, expired or revoked)'
  const lacks =
    api.host === 'gitlab'
      ? `the token cannot manage the deploy keys of ${project}: it needs the Maintainer role ` +
        'on the project (or Owner) and the api scope'
      : `the token cannot manage the deploy keys of ${project}: it needs admin on the repository ` +
        '(a fine-grained token with "Administration: write" on it, or a classic token with the repo ' +
        "scope of a repository admin; a workflow's GITHUB_TOKEN never can)"
  const host = api.host === 'gitlab' ? 'GitLab' : 'GitHub'
  return status === 404
    ? `${lacks}. ${host} also answers 404 when the repository does not exist or the token cannot see it`
    : lacks
}
