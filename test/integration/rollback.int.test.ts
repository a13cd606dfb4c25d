import { publishRelease, type PublishOptions } from '../../src/lib/gitops/publish.js'
import { rollback, type RollbackOptions } from '../../src/lib/gitops/rollback.js'
import { unpin } from '../../src/lib/gitops/unpin.js'
import { silentLogger } from '../../src/lib/log.js'
import {
  bareRemote,
  git,
  manifestsFolder,
  remoteFile,
  remoteFolder,
  remoteHead,
  remoteMessages,
  type Remote,
} from '../support/git.js'
import { runActionBundle, runCli } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'
import { cpSync } from 'node:fs'
import { join } from 'node:path'

afterAll(cleanupTempDirs)

const author = { name: 'gitops-actions[bot]', email: 'bot@example.com' }
const repo = (remote: Remote) => ({
  repository: remote.url,
  auth: {},
  author,
  dryRun: false,
  maxAttempts: 30,
})

async function publish(
  remote: Remote,
  app: string,
  version: string,
  extra: Partial<PublishOptions> = {},
) {
  return publishRelease(
    {
      ...repo(remote),
      env: 'staging',
      app,
      manifests: manifestsFolder(app, `acme/${app}:${version}`),
      version,
      source: { commit: version.replace(/\D/g, '').padEnd(40, '0') },
      mode: 'push',
      force: false,
      allowSecrets: false,
      retire: false,
      ...extra,
    },
    silentLogger,
  )
}

function rollbackOptions(
  remote: Remote,
  to: string,
  extra: Partial<RollbackOptions> = {},
): RollbackOptions {
  return {
    ...repo(remote),
    env: 'staging',
    app: 'shop',
    to,
    pin: true,
    mode: 'push',
    reason: 'bad release',
    ...extra,
  }
}

const files = (remote: Remote, ref: string, app = 'shop') =>
  Object.fromEntries(
    remoteFolder(remote, `releases/staging/${app}`, ref)
      .filter((f) => f !== 'release.json')
      .map((f) => [f, remoteFile(remote, `releases/staging/${app}/${f}`, ref)]),
  )

describe('rollback on a real bare remote', () => {
  let history: Remote
  let remote: Remote
  const commits: Record<string, string> = {}

  // Three releases of two apps, made once; each test works on its own copy of that remote.
  beforeAll(async () => {
    history = bareRemote()
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) {
      commits[`shop@${v}`] = (await publish(history, 'shop', v)).commit!
      commits[`cart@${v}`] = (await publish(history, 'cart', v)).commit!
    }
  })
  beforeEach(() => {
    const path = join(tempDir('gitops-remote-'), 'gitops.git')
    cpSync(history.path, path, { recursive: true })
    remote = { path, url: `file://${path}` }
  })

  test('previous: the folder as it was, one commit listing what it reverts, other apps untouched, pinned', async () => {
    const cartBefore = files(remote, 'main', 'cart')
    const r = await rollback(rollbackOptions(remote, 'previous'), silentLogger)
    expect(r).toMatchObject({
      changed: true,
      version: '1.1.0',
      from: '1.2.0',
      target: commits['shop@1.1.0'],
      reverted: [commits['shop@1.2.0']],
    })
    expect(files(remote, 'main')).toEqual(files(remote, commits['shop@1.1.0']))
    expect(files(remote, 'main', 'cart')).toEqual(cartBefore)
    const info = JSON.parse(remoteFile(remote, 'releases/staging/shop/release.json')!)
    expect(info).toMatchObject({
      version: '1.1.0',
      pinned: { reason: 'bad release', from: '1.2.0' },
    })
    const [message] = remoteMessages(remote)
    expect(message.split('\n')[0]).toBe('rollback(staging/shop): 1.1.0')
    expect(message).toContain(`Rollback-To: ${commits['shop@1.1.0']}`)
    expect(message).toContain(`Reverts: ${commits['shop@1.2.0']}`)
    // History is kept: every release commit is still an ancestor of the branch.
    for (const c of Object.values(commits))
      git(remote.path, 'merge-base', '--is-ancestor', c, 'main')
  })

  test('the result equals git revert of each later commit, newest first', async () => {
    await rollback(rollbackOptions(remote, '1.0.0', { pin: false }), silentLogger)
    // Revert 1.2.0 then 1.1.0 of shop in a full clone and compare the folder.
    const dir = tempDir()
    git(dir, 'clone', '--quiet', remote.url, 'full')
    const full = `${dir}/full`
    git(full, 'checkout', '--quiet', '-b', 'reverts', 'main~1')
    git(full, 'revert', '--no-edit', commits['shop@1.2.0'], commits['shop@1.1.0'])
    expect(git(full, 'diff', 'reverts', 'main', '--', 'releases/staging/shop')).toBe('')
    const r = JSON.parse(remoteFile(remote, 'releases/staging/shop/release.json')!)
    expect(r.pinned).toBeUndefined()
  })

  test('by version and by commit; previous after a rollback skips the rollback', async () => {
    const byVersion = await rollback(rollbackOptions(remote, 'v1.1.0'), silentLogger)
    expect(byVersion.target).toBe(commits['shop@1.1.0'])
    const previous = await rollback(rollbackOptions(remote, 'previous'), silentLogger)
    expect(previous.version).toBe('1.0.0')
    expect(previous.reverted).toHaveLength(3) // 1.2.0, 1.1.0 and the first rollback
    const byCommit = await rollback(
      rollbackOptions(remote, commits['shop@1.2.0'].slice(0, 10)),
      silentLogger,
    )
    expect(byCommit.version).toBe('1.2.0')
    expect(files(remote, 'main')).toEqual(files(remote, commits['shop@1.2.0']))
  })

  test("a shallow clone never takes another app's commit at its boundary for this app's release", async () => {
    // shop 1.0.0, shop 1.1.0, then cart 1.0.0 at the tip: in a depth-1 clone, `git log` of shop's folder
    // lists the tip (the boundary) too, and its version trailer says 1.0.0.
    const fresh = bareRemote()
    const shop10 = (await publish(fresh, 'shop', '1.0.0')).commit!
    await publish(fresh, 'shop', '1.1.0')
    await publish(fresh, 'cart', '1.0.0')
    const r = await rollback(rollbackOptions(fresh, '1.0.0'), silentLogger)
    expect(r).toMatchObject({ changed: true, target: shop10, version: '1.0.0', from: '1.1.0' })
  })

  test('a pinned app refuses publish, naming the rollback; unpin lets it through', async () => {
    const rb = await rollback(rollbackOptions(remote, 'previous'), silentLogger)
    await expect(publish(remote, 'shop', '1.3.0')).rejects.toThrow(
      new RegExp(
        `releases/staging/shop is pinned at 1\\.1\\.0 by rollback ${rb.commit!.slice(0, 12)} \\(bad release\\); publish with force: true.*or unpin it`,
      ),
    )
    await expect(
      publish(remote, 'shop', '1.3.0', {
        env: 'production',
        fromEnv: 'staging',
        manifests: undefined,
      }),
    ).resolves.toMatchObject({ changed: true, version: '1.1.0' })
    // Promote into the pinned env is refused as well.
    await expect(
      publish(remote, 'shop', '1.3.0', {
        env: 'staging',
        fromEnv: 'production',
        manifests: undefined,
      }),
    ).rejects.toThrow(/is pinned at 1\.1\.0/)
    const u = await unpin({ ...repo(remote), env: 'staging', app: 'shop' }, silentLogger)
    expect(u.changed).toBe(true)
    expect(remoteMessages(remote)[0].split('\n')[0]).toBe('unpin(staging/shop): 1.1.0')
    expect(
      (await unpin({ ...repo(remote), env: 'staging', app: 'shop' }, silentLogger)).changed,
    ).toBe(false)
    expect((await publish(remote, 'shop', '1.3.0')).changed).toBe(true)
  })

  test('force publishes over a pin, saying so', async () => {
    await rollback(rollbackOptions(remote, 'previous'), silentLogger)
    await publish(remote, 'shop', '1.3.0', { force: true })
    expect(remoteMessages(remote)[0]).toContain('Forced: replaces the pinned rollback to 1.1.0.')
  })

  describe('bad input: a clear error, the remote unchanged', () => {
    test.each([
      ['an unknown version', { to: '9.9.9' }, /never had a release of version 9\.9\.9/],
      [
        'an unknown commit',
        { to: 'deadbeefdeadbeef' },
        /commit deadbeefdeadbeef is not in the history/,
      ],
      ['an app never released', { app: 'ghost' }, /ghost was never released to staging/],
      ['a missing env', { env: 'qa' }, /the gitops repo has no env 'qa'/],
      ['a bad name', { app: 'a/b' }, /input 'app'/],
    ])('%s', async (_name, extra, message) => {
      const head = remoteHead(remote)
      await expect(
        rollback({ ...rollbackOptions(remote, 'previous'), ...extra }, silentLogger),
      ).rejects.toThrow(message)
      expect(remoteHead(remote)).toBe(head)
    })

    test('a commit of another app', async () => {
      await expect(
        rollback(rollbackOptions(remote, commits['cart@1.1.0']), silentLogger),
      ).rejects.toThrow(/did not change releases\/staging\/shop/)
    })

    test('nothing before the first release', async () => {
      const fresh = bareRemote()
      await publish(fresh, 'shop', '1.0.0')
      await expect(rollback(rollbackOptions(fresh, 'previous'), silentLogger)).rejects.toThrow(
        /no release before the current one/,
      )
    })
  })

  test('as a runner runs it (dist/rollback), and through the CLI', async () => {
    const r = await runActionBundle('rollback', {
      repository: remote.url,
      env: 'staging',
      app: 'shop',
      reason: 'latency',
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.outputs).toMatchObject({
      changed: 'true',
      version: '1.1.0',
      'rolled-back-from': '1.2.0',
      reverted: commits['shop@1.2.0'],
    })
    const cli = await runCli([
      'unpin',
      '--repository',
      remote.url,
      '--env',
      'staging',
      '--app',
      'shop',
    ])
    expect(cli.code).toBe(0)
    expect(cli.outputs.changed).toBe('true')
  })
})
