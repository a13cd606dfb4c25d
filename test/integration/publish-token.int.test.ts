// A token login over HTTP for real (git http-backend behind basic auth): the token rides on each git
// command and is never written to the clone's .git/config, the logs or the repo.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { bareRemote, git, manifestsFolder, remoteHead } from '../support/git.js'
import { startGitHttp, type GitHttpServer } from '../support/git-http.js'
import { runActionBundle } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

const TOKEN = 'ghs_tokenforhttpbackend0123456789'
let server: GitHttpServer
const remote = bareRemote()

beforeAll(async () => {
  server = await startGitHttp(dirname(remote.path), 'x-access-token', TOKEN)
})
afterAll(async () => {
  await server.close()
  cleanupTempDirs()
})

test('publish with a token: pushed, and the token is in no file of the clone while it works', async () => {
  const runnerTemp = tempDir()
  const seen: string[] = []
  server.onRequest = () => {
    // The clone lives in RUNNER_TEMP while the action runs: look at every config file in it.
    for (const dir of readdirSync(runnerTemp).filter((d) => d.startsWith('gitops-repo-'))) {
      seen.push(readFileSync(join(runnerTemp, dir, '.git', 'config'), 'utf8'))
    }
  }
  const r = await runActionBundle(
    'publish-release',
    {
      repository: server.url(remote.path),
      token: TOKEN,
      env: 'staging',
      app: 'shop',
      manifests: manifestsFolder('shop', 'acme/shop:1.0.0'),
      version: '1.0.0',
    },
    { env: { RUNNER_TEMP: runnerTemp } },
  )
  server.onRequest = undefined
  expect(r.code).toBe(0)
  expect(r.outputs.commit).toBe(remoteHead(remote))
  expect(seen.length).toBeGreaterThan(0)
  for (const config of seen) {
    expect(config).not.toContain(TOKEN)
    expect(config).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'))
  }
  expect(r.stdout.split('\n').filter((l) => l.includes(TOKEN))).toEqual([`::add-mask::${TOKEN}`])
  expect(git(remote.path, 'log', '-p', '--all')).not.toContain(TOKEN)
})

test('a wrong token: a clear error, the remote unchanged', async () => {
  const head = remoteHead(remote)
  const r = await runActionBundle('publish-release', {
    repository: server.url(remote.path),
    token: 'ghs_wrong_token_value_123',
    env: 'staging',
    app: 'cart',
    manifests: manifestsFolder('cart', 'acme/cart:1.0.0'),
    version: '1.0.0',
  })
  expect(r.code).toBe(1)
  expect(r.stdout).toMatch(
    /::error::publish-release: git failed to clone http:\/\/127\.0\.0\.1:\d+\/gitops\.git .*the remote refused the credentials/,
  )
  expect(remoteHead(remote)).toBe(head)
})
