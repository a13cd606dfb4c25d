// Deploy keys on GitHub (through Octokit) and GitLab (its REST API), against the test git host API:
// registered once and read-only, found again and kept, deleted; a key with write access refused; a
// token without the rights told which right it lacks.
import {
  deleteDeployKey,
  ensureDeployKey,
  GitHostApiError,
  listDeployKeys,
  samePublicKey,
  type GitHost,
  type GitHostApi,
} from '../../src/lib/git-host/index.js'
import { generateSshKey } from '../../src/lib/install/ssh-key.js'
import { startGitHostApi, type GitHostApi as TestApi } from '../support/git-host-api.js'

const TOKEN = 'glpat-deploykeys42'
const PROJECT = 'acme/gitops'
let server: TestApi

beforeAll(async () => {
  server = await startGitHostApi(TOKEN)
})
afterAll(() => server.close())
beforeEach(() => {
  server.deployKeys.length = 0
  server.requests.length = 0
  server.refuseDeployKeys(undefined)
})

function hostApi(host: GitHost): GitHostApi {
  return { host, apiUrl: host === 'github' ? server.url : `${server.url}/api/v4`, token: TOKEN }
}

/** What `call` throws, as a GitHostApiError. */
async function failure(call: Promise<unknown>): Promise<GitHostApiError> {
  const error: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(GitHostApiError)
  return error as GitHostApiError
}

const posts = () => server.requests.filter((r) => r.method === 'POST')

describe.each(['github', 'gitlab'] as const)('%s', (host) => {
  let api: GitHostApi
  beforeAll(() => {
    api = hostApi(host)
  })

  test('registered once, read-only; a second run finds the key and keeps it', async () => {
    const key = generateSshKey('gitops-agent@prod')
    const first = await ensureDeployKey(api, PROJECT, {
      title: 'gitops prod',
      publicKey: key.publicKey,
    })
    expect(first.created).toBe(true)
    expect(server.deployKeys).toEqual([
      expect.objectContaining({
        project: PROJECT,
        id: first.id,
        title: 'gitops prod',
        readOnly: true,
      }),
    ])
    // The read-only flag is sent, not left to the host's default (GitHub's is read-write)
    expect(posts()).toHaveLength(1)
    expect(posts()[0].body).toMatchObject(
      host === 'github' ? { read_only: true } : { can_push: false },
    )
    // Only the key's type and body go to the host
    expect(posts()[0].body?.key).toBe(key.publicKey.split(' ').slice(0, 2).join(' '))

    const again = await ensureDeployKey(api, PROJECT, {
      title: 'another title',
      publicKey: `${key.publicKey.split(' ').slice(0, 2).join(' ')} another comment`,
    })
    expect(again).toEqual({ id: first.id, created: false })
    expect(posts()).toHaveLength(1)
    expect(server.deployKeys).toHaveLength(1)
    expect(server.requests.every((r) => r.auth?.endsWith(TOKEN))).toBe(true)
  })

  test('other keys stay; a key among more than one page is found', async () => {
    const ours = generateSshKey('ours')
    for (let i = 0; i < 120; i++) {
      server.addDeployKey({
        project: PROJECT,
        title: `other ${i}`,
        key: generateSshKey('').publicKey,
        readOnly: true,
      })
    }
    server.addDeployKey({
      project: 'acme/elsewhere',
      title: 'x',
      key: ours.publicKey,
      readOnly: true,
    })
    // On GitHub one key belongs to one repository only: the other repository's copy makes it a 422
    if (host === 'github') {
      const error = await failure(
        ensureDeployKey(api, PROJECT, { title: 'ours', publicKey: ours.publicKey }),
      )
      expect(error.status).toBe(422)
      expect(error.message).toMatch(/key is already in use.*deploy key of one repository only/)
      server.deployKeys.pop()
    }
    const id = server.addDeployKey({
      project: PROJECT,
      title: 'ours, by hand',
      key: ours.publicKey,
      readOnly: true,
    })
    expect(
      await ensureDeployKey(api, PROJECT, { title: 'ours', publicKey: ours.publicKey }),
    ).toEqual({ id, created: false })
    expect(await listDeployKeys(api, PROJECT)).toHaveLength(121)
    expect(server.requests.filter((r) => r.method === 'GET').length).toBeGreaterThan(2)
  })

  test('deleted; deleting a key that is gone says so', async () => {
    const key = generateSshKey('old')
    const keep = generateSshKey('new')
    const { id } = await ensureDeployKey(api, PROJECT, { title: 'old', publicKey: key.publicKey })
    await ensureDeployKey(api, PROJECT, { title: 'new', publicKey: keep.publicKey })
    expect(await deleteDeployKey(api, PROJECT, id)).toBe(true)
    expect(server.deployKeys.map((k) => k.title)).toEqual(['new'])
    expect(await deleteDeployKey(api, PROJECT, id)).toBe(false)
    expect(server.deployKeys.map((k) => k.title)).toEqual(['new'])
  })

  test('the same key with write access is refused, and left as it is', async () => {
    const key = generateSshKey('agent')
    const id = server.addDeployKey({
      project: PROJECT,
      title: 'added by hand',
      key: key.publicKey,
      readOnly: false,
    })
    const error = await failure(
      ensureDeployKey(api, PROJECT, { title: 'gitops', publicKey: key.publicKey }),
    )
    expect(error.message).toBe(
      `the deploy key "added by hand" (id ${id}) of ${PROJECT} is this public key with write ` +
        'access, and the sync agent must only read: delete that deploy key on the git host, then ' +
        'run again to register the key read-only',
    )
    expect(posts()).toEqual([])
    expect(server.deployKeys).toEqual([expect.objectContaining({ id, readOnly: false })])
  })

  const lacks =
    host === 'github'
      ? /needs admin on the repository \(a fine-grained token with "Administration: write"/
      : /needs the Maintainer role on the project \(or Owner\) and the api scope/

  test('403: which right the token lacks', async () => {
    server.refuseDeployKeys(403)
    const key = generateSshKey('agent')
    const error = await failure(
      ensureDeployKey(api, PROJECT, { title: 't', publicKey: key.publicKey }),
    )
    expect(error.status).toBe(403)
    expect(error.message).toMatch(
      host === 'github'
        ? /^GitHub API list deploy keys: 403 Resource not accessible/
        : /^GitLab API GET .*: 403 /,
    )
    expect(error.message).toMatch(new RegExp(`cannot manage the deploy keys of ${PROJECT}`))
    expect(error.message).toMatch(lacks)
    expect(error.message).not.toMatch(/also answers 404/)
    const onDelete = await failure(deleteDeployKey(api, PROJECT, 7))
    expect(onDelete.status).toBe(403)
    expect(onDelete.message).toMatch(lacks)
  })

  test('404: the same, and that the repository may not exist or be hidden from the token', async () => {
    server.refuseDeployKeys(404)
    const key = generateSshKey('agent')
    const error = await failure(
      ensureDeployKey(api, PROJECT, { title: 't', publicKey: key.publicKey }),
    )
    expect(error.status).toBe(404)
    expect(error.message).toMatch(lacks)
    expect(error.message).toMatch(
      /also answers 404 when the repository does not exist or the token cannot see it$/,
    )
    // A delete's 404 is not taken for a key already gone when the token cannot list the keys
    const onDelete = await failure(deleteDeployKey(api, PROJECT, 7))
    expect(onDelete.status).toBe(404)
    expect(onDelete.message).toMatch(
      host === 'github' ? /delete deploy key 7: 404/ : /DELETE .*\/7: 404/,
    )
    expect(onDelete.message).toMatch(lacks)
  })

  test('a bad token, and a public key that is not one', async () => {
    const error = await failure(listDeployKeys({ ...api, token: 'wrong' }, PROJECT))
    expect(error.status).toBe(401)
    expect(error.message).toMatch(/the token is not valid \(mistyped, expired or revoked\)$/)
    await expect(
      ensureDeployKey(api, PROJECT, { title: 't', publicKey: 'not a key' }),
    ).rejects.toThrow(/must be an OpenSSH public key line/)
  })
})

test('GitHub Enterprise: the calls go to its api-url', async () => {
  const key = generateSshKey('agent')
  const api: GitHostApi = { host: 'github', apiUrl: `${server.url}/api/v3`, token: TOKEN }
  const { id } = await ensureDeployKey(api, PROJECT, { title: 'ghe', publicKey: key.publicKey })
  await deleteDeployKey(api, PROJECT, id)
  expect(server.requests.map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`)).toEqual([
    `GET /api/v3/repos/${PROJECT}/keys`,
    `POST /api/v3/repos/${PROJECT}/keys`,
    `DELETE /api/v3/repos/${PROJECT}/keys/${id}`,
  ])
})

test('GitLab: a project path with groups is one URL segment', async () => {
  const key = generateSshKey('agent')
  await ensureDeployKey(hostApi('gitlab'), 'group/sub/apps', {
    title: 'x',
    publicKey: key.publicKey,
  })
  expect(server.requests.map((r) => r.path.replace(/\?.*/, ''))).toEqual([
    '/api/v4/projects/group%2Fsub%2Fapps/deploy_keys',
    '/api/v4/projects/group%2Fsub%2Fapps/deploy_keys',
  ])
  expect(server.deployKeys[0].project).toBe('group/sub/apps')
})

test('samePublicKey compares type and body, not comments', () => {
  const key = generateSshKey('one')
  const [type, body] = key.publicKey.split(' ')
  expect(samePublicKey(key.publicKey, `${type} ${body}`)).toBe(true)
  expect(samePublicKey(key.publicKey, `  ${type}  ${body} two\n`)).toBe(true)
  expect(samePublicKey(key.publicKey, generateSshKey('one').publicKey)).toBe(false)
  expect(samePublicKey(`ssh-rsa ${body}`, key.publicKey)).toBe(false)
  expect(samePublicKey('junk', 'junk')).toBe(false)
})
