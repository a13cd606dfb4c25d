// pull-request mode: the release goes to the tool's own branch and one pull request (GitHub, through
// Octokit) or merge request (GitLab) that newer releases update; the target branch is never pushed.
import { publishRelease, type PublishOptions } from '../../src/lib/gitops/publish.js'
import { rollback } from '../../src/lib/gitops/rollback.js'
import { silentLogger } from '../../src/lib/log.js'
import { bareRemote, manifestsFolder, remoteFile, remoteHead, type Remote } from '../support/git.js'
import { startGitHostApi, type GitHostApi } from '../support/git-host-api.js'
import { runActionBundle } from '../support/run-bundle.js'
import { cleanupTempDirs } from '../support/tmp.js'

const TOKEN = 'ghp_pullrequesttoken42'
let api: GitHostApi
beforeAll(async () => {
  api = await startGitHostApi(TOKEN)
})
afterAll(async () => {
  await api.close()
  cleanupTempDirs()
})

function options(
  remote: Remote,
  host: 'github' | 'gitlab',
  extra: Partial<PublishOptions>,
): PublishOptions {
  return {
    repository: remote.url,
    auth: { token: TOKEN },
    env: 'production',
    app: 'shop',
    source: {},
    author: { name: 'bot', email: 'bot@example.com' },
    mode: 'pull-request',
    force: false,
    allowSecrets: false,
    retire: false,
    dryRun: false,
    maxAttempts: 5,
    pullRequest: {
      host,
      apiUrl: host === 'github' ? api.url : `${api.url}/api/v4`,
      token: TOKEN,
      project: 'acme/gitops',
    },
    ...extra,
  }
}

test.each(['github', 'gitlab'] as const)(
  '%s: one request per env/app, updated by newer releases, never an older one',
  async (host) => {
    api.pulls.length = 0
    const remote = bareRemote()
    const main = remoteHead(remote)
    const first = await publishRelease(
      options(remote, host, {
        manifests: manifestsFolder('shop', 'acme/shop:1.0.0'),
        version: '1.0.0',
      }),
      silentLogger,
    )
    expect(first.pullRequestUrl).toMatch(
      host === 'github' ? /\/acme\/gitops\/pull\/1$/ : /\/merge_requests\/1$/,
    )
    expect(remoteHead(remote)).toBe(main) // the target branch is untouched
    expect(
      remoteFile(remote, 'releases/production/shop/deployment-shop.yaml', 'gitops/production/shop'),
    ).toContain('acme/shop:1.0.0')

    const second = await publishRelease(
      options(remote, host, {
        manifests: manifestsFolder('shop', 'acme/shop:1.1.0'),
        version: '1.1.0',
      }),
      silentLogger,
    )
    expect(second.pullRequestUrl).toBe(first.pullRequestUrl)
    expect(api.pulls).toHaveLength(1)
    expect(api.pulls[0]).toMatchObject({
      head: 'gitops/production/shop',
      base: 'main',
      title: 'release(production/shop): 1.1.0',
      state: 'open',
    })
    expect(
      remoteFile(remote, 'releases/production/shop/deployment-shop.yaml', 'gitops/production/shop'),
    ).toContain('acme/shop:1.1.0')

    await expect(
      publishRelease(
        options(remote, host, {
          manifests: manifestsFolder('shop', 'acme/shop:1.0.5'),
          version: '1.0.5',
        }),
        silentLogger,
      ),
    ).rejects.toThrow(
      /refusing to replace the pending pull request of releases\/production\/shop: it holds 1\.1\.0/,
    )
    expect(
      remoteFile(remote, 'releases/production/shop/deployment-shop.yaml', 'gitops/production/shop'),
    ).toContain('acme/shop:1.1.0')
    expect(remoteHead(remote)).toBe(main)
  },
)

test('rollback in pull-request mode keeps a gated env gated', async () => {
  api.pulls.length = 0
  const remote = bareRemote()
  for (const v of ['1.0.0', '2.0.0']) {
    await publishRelease(
      options(remote, 'github', {
        manifests: manifestsFolder('shop', `acme/shop:${v}`),
        version: v,
        mode: 'push',
      }),
      silentLogger,
    )
  }
  const main = remoteHead(remote)
  const r = await rollback(
    {
      repository: remote.url,
      auth: { token: TOKEN },
      env: 'production',
      app: 'shop',
      to: 'previous',
      pin: true,
      mode: 'pull-request',
      author: { name: 'bot', email: 'b@example.com' },
      dryRun: false,
      maxAttempts: 5,
      pullRequest: options(remote, 'github', {}).pullRequest,
    },
    silentLogger,
  )
  expect(remoteHead(remote)).toBe(main)
  expect(r.pullRequestUrl).toMatch(/\/pull\/1$/)
  expect(api.pulls[0].title).toBe('rollback(production/shop): 1.0.0')
  expect(
    remoteFile(remote, 'releases/production/shop/deployment-shop.yaml', 'gitops/production/shop'),
  ).toContain('acme/shop:1.0.0')
})

test('the action in pull-request mode: token masked, URL as output', async () => {
  api.pulls.length = 0
  api.requests.length = 0
  const remote = bareRemote()
  const r = await runActionBundle(
    'publish-release',
    {
      repository: remote.url,
      token: TOKEN,
      mode: 'pull-request',
      'api-url': api.url,
      env: 'production',
      app: 'web',
      manifests: manifestsFolder('web', 'acme/web:3.0.0'),
      version: '3.0.0',
    },
    { env: { GITHUB_REPOSITORY: 'acme/app' } },
  )
  expect(r.stdout.split('\n').filter((l) => l.includes(TOKEN))).toEqual([`::add-mask::${TOKEN}`])
  expect(r.code).toBe(0)
  expect(r.outputs['pull-request-url']).toBe(`${api.url}/acme/gitops/pull/1`)
  expect(api.requests.every((q) => q.auth === `token ${TOKEN}`)).toBe(true)
})
