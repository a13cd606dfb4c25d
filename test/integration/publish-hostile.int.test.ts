// Publish, promote, retire, rollback and unpin against a gitops repo that someone with push access made
// hostile: symlinks committed on the way to a release folder, or as release.json. Nothing outside the
// clone is read, deleted or written, the error names the symlink, and the remote is unchanged.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { publishRelease, type PublishOptions } from '../../src/lib/gitops/publish.js'
import { rollback } from '../../src/lib/gitops/rollback.js'
import { unpin } from '../../src/lib/gitops/unpin.js'
import { silentLogger } from '../../src/lib/log.js'
import {
  bareRemote,
  manifestsFolder,
  pushFiles,
  remoteFile,
  remoteHead,
  type Remote,
} from '../support/git.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

const author = { name: 'gitops-actions[bot]', email: 'bot@example.com' }

function options(remote: Remote, overrides: Partial<PublishOptions> = {}): PublishOptions {
  return {
    repository: remote.url,
    auth: {},
    env: 'staging',
    app: 'shop',
    manifests: manifestsFolder('shop', 'acme/shop:2.0.0'),
    version: '2.0.0',
    source: {},
    author,
    mode: 'push',
    force: false,
    allowSecrets: false,
    retire: false,
    dryRun: false,
    maxAttempts: 3,
    ...overrides,
  }
}

const releaseJson = (version: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    app: 'shop',
    env: 'staging',
    version,
    digest: 'sha256:0',
    objects: 0,
    releasedAt: '2026-01-01T00:00:00Z',
    ...extra,
  })

/** A folder outside every clone, laid out like `releases/`, with a sentinel file in the app's folder. */
function outsideReleases(): { root: string; snapshot: () => string } {
  const root = join(tempDir('gitops-outside-'), 'runner-files')
  for (const env of ['staging', 'production']) {
    mkdirSync(join(root, env, 'shop'), { recursive: true })
    writeFileSync(join(root, env, 'shop', 'sentinel.txt'), `do not touch (${env})\n`)
    writeFileSync(
      join(root, env, 'shop', 'release.json'),
      releaseJson('1.0.0', { pinned: { reason: 'x', from: '0.9.0', at: '2026-01-01T00:00:00Z' } }),
    )
  }
  const snapshot = () =>
    ['staging', 'production']
      .map((env) => {
        const dir = join(root, env, 'shop')
        return readdirSync(dir)
          .sort()
          .map((f) => `${env}/${f}:${readFileSync(join(dir, f), 'utf8')}`)
          .join('\n')
      })
      .join('\n')
  return { root, snapshot }
}

const messageOf = (p: Promise<unknown>) =>
  p.then(
    () => 'succeeded',
    (e: Error) => e.message,
  )

describe('a symlink committed on the way to a release folder', () => {
  let remote: Remote
  let outside: ReturnType<typeof outsideReleases>
  let before: string
  let head: string

  beforeEach(() => {
    remote = bareRemote()
    outside = outsideReleases()
    pushFiles(remote, { releases: { symlink: outside.root } }, 'releases elsewhere')
    before = outside.snapshot()
    head = remoteHead(remote)
  })

  afterEach(() => {
    expect(outside.snapshot()).toBe(before)
    expect(remoteHead(remote)).toBe(head)
  })

  test('publish refuses, naming it', async () => {
    const message = await messageOf(publishRelease(options(remote), silentLogger))
    expect(message).toMatch(/^releases is a symbolic link in the gitops repo/)
  })

  test('retire refuses, naming it', async () => {
    const message = await messageOf(
      publishRelease(
        options(remote, { manifests: undefined, version: undefined, retire: true }),
        silentLogger,
      ),
    )
    expect(message).toMatch(/^releases is a symbolic link in the gitops repo/)
  })

  test('promote refuses, naming it', async () => {
    const message = await messageOf(
      publishRelease(
        options(remote, {
          env: 'production',
          fromEnv: 'staging',
          manifests: undefined,
          version: undefined,
          force: true,
        }),
        silentLogger,
      ),
    )
    expect(message).toMatch(/^releases is a symbolic link in the gitops repo/)
  })

  test('rollback refuses, naming it', async () => {
    const message = await messageOf(
      rollback(
        {
          repository: remote.url,
          auth: {},
          author,
          dryRun: false,
          maxAttempts: 3,
          env: 'staging',
          app: 'shop',
          to: 'previous',
          pin: true,
          mode: 'push',
        },
        silentLogger,
      ),
    )
    expect(message).toMatch(/^releases is a symbolic link in the gitops repo/)
  })

  test('unpin refuses, naming it', async () => {
    const message = await messageOf(
      unpin(
        {
          repository: remote.url,
          auth: {},
          author,
          dryRun: false,
          maxAttempts: 3,
          env: 'staging',
          app: 'shop',
        },
        silentLogger,
      ),
    )
    expect(message).toMatch(/^releases is a symbolic link in the gitops repo/)
  })
})

test('a symlinked env folder and a symlinked promote source are refused by name', async () => {
  const outside = outsideReleases()
  const before = outside.snapshot()
  const remote = bareRemote()
  await publishRelease(options(remote), silentLogger)
  pushFiles(remote, { 'releases/production': { symlink: join(outside.root, 'production') } })
  const head = remoteHead(remote)
  expect(
    await messageOf(publishRelease(options(remote, { env: 'production' }), silentLogger)),
  ).toMatch(/^releases\/production is a symbolic link/)
  // The source of a promote: its files would be copied into git.
  const other = bareRemote()
  pushFiles(other, { 'releases/staging/shop': { symlink: join(outside.root, 'staging', 'shop') } })
  const otherHead = remoteHead(other)
  expect(
    await messageOf(
      publishRelease(
        options(other, {
          env: 'production',
          fromEnv: 'staging',
          manifests: undefined,
          version: undefined,
        }),
        silentLogger,
      ),
    ),
  ).toMatch(/^releases\/staging\/shop is a symbolic link/)
  expect(outside.snapshot()).toBe(before)
  expect(remoteHead(remote)).toBe(head)
  expect(remoteHead(other)).toBe(otherHead)
})

describe('a symlinked release.json', () => {
  const SECRET = 'ghp_TOPSECRETTOKEN1234567890'

  test('is refused by name, without quoting what it points at', async () => {
    const secretFile = join(tempDir('gitops-outside-'), 'credentials')
    writeFileSync(secretFile, `${SECRET}\n`)
    const remote = bareRemote()
    pushFiles(remote, { 'releases/staging/shop/release.json': { symlink: secretFile } })
    const head = remoteHead(remote)
    for (const run of [
      () => publishRelease(options(remote), silentLogger),
      () =>
        unpin(
          {
            repository: remote.url,
            auth: {},
            author,
            dryRun: false,
            maxAttempts: 3,
            env: 'staging',
            app: 'shop',
          },
          silentLogger,
        ),
    ]) {
      const message = await messageOf(run())
      expect(message).toMatch(/^releases\/staging\/shop\/release\.json is a symbolic link/)
      expect(message).not.toContain('ghp_')
      expect(message).not.toContain('TOPSECRET')
    }
    expect(readFileSync(secretFile, 'utf8')).toBe(`${SECRET}\n`)
    expect(remoteHead(remote)).toBe(head)
  })

  test('restored by a rollback is refused before it is read or rewritten', async () => {
    const target = join(tempDir('gitops-outside-'), 'target.json')
    const targetText = releaseJson('0.1.0')
    writeFileSync(target, targetText)
    const remote = bareRemote()
    await publishRelease(
      options(remote, { manifests: manifestsFolder('shop', 'acme/shop:1.0.0'), version: '1.0.0' }),
      silentLogger,
    )
    const real = remoteFile(remote, 'releases/staging/shop/release.json')!
    pushFiles(remote, { 'releases/staging/shop/release.json': null })
    const hostile = pushFiles(
      remote,
      { 'releases/staging/shop/release.json': { symlink: target } },
      'release(staging/shop): 1.1.0\n\nGitops-App: shop\nGitops-Env: staging\nGitops-Version: 1.1.0',
    )
    // (removed first: writing through the test's own clone would follow the symlink)
    pushFiles(remote, { 'releases/staging/shop/release.json': null })
    pushFiles(remote, { 'releases/staging/shop/release.json': real }, 'fix release.json')
    const head = remoteHead(remote)
    const message = await messageOf(
      rollback(
        {
          repository: remote.url,
          auth: {},
          author,
          dryRun: false,
          maxAttempts: 3,
          env: 'staging',
          app: 'shop',
          to: hostile,
          pin: true,
          mode: 'push',
        },
        silentLogger,
      ),
    )
    expect(message).toMatch(/^releases\/staging\/shop\/release\.json is a symbolic link/)
    expect(readFileSync(target, 'utf8')).toBe(targetText)
    expect(remoteHead(remote)).toBe(head)
  })
})
