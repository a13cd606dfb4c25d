import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { join } from 'node:path'
import { publishRelease, type PublishOptions } from '../../src/lib/gitops/publish.js'
import { manifestsDigest } from '../../src/lib/manifests/objects.js'
import { parseManifestText, type KubeObject } from '../../src/lib/manifests/yaml.js'
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
import { runActionBundle } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

function options(remote: Remote, overrides: Partial<PublishOptions>): PublishOptions {
  return {
    repository: remote.url,
    auth: {},
    env: 'staging',
    app: 'shop',
    source: {
      repo: 'https://github.com/acme/shop',
      commit: 'a'.repeat(40),
      run: 'https://ci/run/1',
    },
    releasedBy: 'alice',
    author: { name: 'gitops-actions[bot]', email: 'bot@example.com' },
    mode: 'push',
    force: false,
    allowSecrets: false,
    retire: false,
    dryRun: false,
    maxAttempts: 30,
    ...overrides,
  }
}

const release = (remote: Remote, path = 'releases/staging/shop') =>
  JSON.parse(remoteFile(remote, `${path}/release.json`) ?? 'null')

describe('publish-release on a real bare remote', () => {
  test('first release: the folder, release.json and a commit with trailers', async () => {
    const remote = bareRemote()
    const manifests = manifestsFolder('shop', 'acme/shop:1.0.0')
    const r = await publishRelease(
      options(remote, { manifests, version: '1.0.0', kustomizeVersion: 'v5.5.0' }),
      silentLogger,
    )
    expect(r.changed).toBe(true)
    expect(r.attempts).toBe(1)
    expect(r.commit).toBe(remoteHead(remote))
    expect(r.diff).toEqual({
      added: ['Service/apps/shop', 'Deployment/apps/shop'],
      changed: [],
      removed: [],
    })
    expect(remoteFolder(remote, 'releases/staging/shop')).toEqual([
      'deployment-shop.yaml',
      'release.json',
      'service-shop.yaml',
    ])
    const info = release(remote)
    expect(info).toMatchObject({
      app: 'shop',
      env: 'staging',
      version: '1.0.0',
      objects: 2,
      releasedBy: 'alice',
      sourceCommit: 'a'.repeat(40),
      kustomizeVersion: 'v5.5.0',
    })
    const objects = parseManifestText(
      remoteFile(remote, 'releases/staging/shop/deployment-shop.yaml')!,
      'x',
    ).map((d) => d.value as KubeObject)
    expect(info.digest).toBe(r.digest)
    expect(info.digest).not.toBe(manifestsDigest(objects)) // two objects in the digest, one here
    const [message] = remoteMessages(remote)
    expect(message.split('\n')[0]).toBe('release(staging/shop): 1.0.0')
    expect(message).toContain('\nGitops-App: shop\nGitops-Env: staging\nGitops-Version: 1.0.0\n')
    expect(message).toContain(
      'Source-Repo: https://github.com/acme/shop\nSource-Commit: ' +
        'a'.repeat(40) +
        '\nSource-Run: https://ci/run/1',
    )
    expect(remoteFile(remote, 'README.md')).toBe('# gitops repo\n')
  })

  test('the same release twice makes no second commit; a new version replaces the folder wholly', async () => {
    const remote = bareRemote()
    await publishRelease(
      options(remote, {
        manifests: manifestsFolder('shop', 'acme/shop:1.0.0', {
          'configmap-x.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
        }),
        version: '1.0.0',
      }),
      silentLogger,
    )
    const head = remoteHead(remote)
    const again = await publishRelease(
      options(remote, {
        manifests: manifestsFolder('shop', 'acme/shop:1.0.0', {
          'configmap-x.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
        }),
        version: '1.0.0',
        source: { run: 'https://ci/run/2' },
      }),
      silentLogger,
    )
    expect(again.changed).toBe(false)
    expect(again.commit).toBeUndefined()
    expect(remoteHead(remote)).toBe(head)

    const next = await publishRelease(
      options(remote, { manifests: manifestsFolder('shop', 'acme/shop:1.1.0'), version: 'v1.1.0' }),
      silentLogger,
    )
    expect(next.changed).toBe(true)
    expect(next.diff).toEqual({
      added: [],
      changed: ['Deployment/apps/shop'],
      removed: ['ConfigMap/x'],
    })
    expect(remoteFolder(remote, 'releases/staging/shop')).toEqual([
      'deployment-shop.yaml',
      'release.json',
      'service-shop.yaml',
    ])
  })

  test('refuses a downgrade and a rebuilt version; force overrides, saying so', async () => {
    const remote = bareRemote()
    await publishRelease(
      options(remote, { manifests: manifestsFolder('shop', 'acme/shop:2.0.0'), version: '2.0.0' }),
      silentLogger,
    )
    const head = remoteHead(remote)
    await expect(
      publishRelease(
        options(remote, {
          manifests: manifestsFolder('shop', 'acme/shop:1.9.0'),
          version: '1.9.0',
        }),
        silentLogger,
      ),
    ).rejects.toThrow(
      /refusing to downgrade releases\/staging\/shop: it holds 2\.0\.0 .*newer than 1\.9\.0/,
    )
    await expect(
      publishRelease(
        options(remote, {
          manifests: manifestsFolder('shop', 'acme/shop:other'),
          version: '2.0.0',
        }),
        silentLogger,
      ),
    ).rejects.toThrow(/already holds version 2\.0\.0 with other manifests/)
    await expect(
      publishRelease(
        options(remote, {
          manifests: manifestsFolder('shop', 'acme/shop:2.0.0-rc.1'),
          version: '2.0.0-rc.1',
        }),
        silentLogger,
      ),
    ).rejects.toThrow(/downgrade/)
    expect(remoteHead(remote)).toBe(head)
    const forced = await publishRelease(
      options(remote, {
        manifests: manifestsFolder('shop', 'acme/shop:1.9.0'),
        version: '1.9.0',
        force: true,
      }),
      silentLogger,
    )
    expect(forced.changed).toBe(true)
    expect(remoteMessages(remote)[0]).toContain('Forced: downgrade from 2.0.0.')
  })

  test('versions that are not SemVer are ordered by source commit time', async () => {
    const remote = bareRemote()
    await publishRelease(
      options(remote, {
        manifests: manifestsFolder('shop', 'acme/shop:b'),
        version: 'bbbbbbb',
        source: { commitTime: '2026-01-02T00:00:00Z' },
      }),
      silentLogger,
    )
    await expect(
      publishRelease(
        options(remote, {
          manifests: manifestsFolder('shop', 'acme/shop:a'),
          version: 'aaaaaaa',
          source: { commitTime: '2026-01-01T00:00:00Z' },
        }),
        silentLogger,
      ),
    ).rejects.toThrow(/downgrade/)
    const newer = await publishRelease(
      options(remote, {
        manifests: manifestsFolder('shop', 'acme/shop:c'),
        version: 'ccccccc',
        source: { commitTime: '2026-01-03T00:00:00Z' },
      }),
      silentLogger,
    )
    expect(newer.changed).toBe(true)
  })

  test('versions that nothing orders (no commit time) follow the order of publishes', async () => {
    const remote = bareRemote()
    const publish = (version: string, image: string) =>
      publishRelease(
        options(remote, {
          manifests: manifestsFolder('shop', image),
          version,
          source: {},
        }),
        silentLogger,
      )
    await publish('3f1c2aa', 'acme/shop:1')
    // The same manifests under a new name: a new release, and the name in place is the new one.
    const renamed = await publish('9e8d7cc', 'acme/shop:1')
    expect(renamed.changed).toBe(true)
    expect(renamed.version).toBe('9e8d7cc')
    expect(release(remote).version).toBe('9e8d7cc')
    // Other manifests under another new name: not "a rebuilt artifact".
    const next = await publish('1a2b3c4', 'acme/shop:2')
    expect(next.changed).toBe(true)
    expect(release(remote).version).toBe('1a2b3c4')
    // Publishing what is in place again changes nothing, and says what is in place.
    const head = remoteHead(remote)
    const again = await publish('1a2b3c4', 'acme/shop:2')
    expect(again.changed).toBe(false)
    expect(again.version).toBe('1a2b3c4')
    expect(again.digest).toBe(release(remote).digest)
    expect(remoteHead(remote)).toBe(head)
    // The same name with other manifests is still refused.
    await expect(publish('1a2b3c4', 'acme/shop:3')).rejects.toThrow(
      /already holds version 1a2b3c4 with other manifests/,
    )
  })

  test('a source commit must be a hex object id; the value is not echoed', async () => {
    const remote = bareRemote()
    const head = remoteHead(remote)
    for (const commit of [
      '../../../../groups/7/variables?key=X&x=',
      'abc12',
      'g'.repeat(40),
      'a'.repeat(65),
      `${'a'.repeat(40)}\n`,
    ]) {
      const message = await publishRelease(
        options(remote, {
          manifests: manifestsFolder('shop', 'acme/shop:1'),
          version: '1.0.0',
          source: { commit },
        }),
        silentLogger,
      ).then(
        () => 'published',
        (e: Error) => e.message,
      )
      expect(message).toMatch(
        /input 'source-commit' \(or GITHUB_SHA \/ CI_COMMIT_SHA\) is not a commit id/,
      )
      expect(message).not.toContain(commit)
    }
    expect(remoteHead(remote)).toBe(head)
    for (const commit of ['abc1234', 'A'.repeat(40), 'f'.repeat(64)]) {
      const r = await publishRelease(
        options(remote, {
          manifests: manifestsFolder('shop', `acme/shop:${commit}`),
          version: commit,
          source: { commit },
        }),
        silentLogger,
      )
      expect(release(remote).sourceCommit).toBe(commit)
      expect(r.changed).toBe(true)
    }
  })

  test('a remote that never answers: git is stopped after git-timeout, with its children', async () => {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => undefined)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    try {
      const started = Date.now()
      await expect(
        publishRelease(
          options(
            { path: '', url: `http://127.0.0.1:${port}/gitops.git` },
            {
              manifests: manifestsFolder('shop', 'acme/shop:1'),
              version: '1.0.0',
              gitTimeoutMs: 3000,
            },
          ),
          silentLogger,
        ),
      ).rejects.toThrow(/git did not finish within 3 s/)
      expect(Date.now() - started).toBeLessThan(10_000)
      const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes(`127.0.0.1:${port}`))
      expect(left).toEqual([])
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((r) => server.close(r))
    }
  })

  test('promote copies the exact release to another env', async () => {
    const remote = bareRemote()
    const staged = await publishRelease(
      options(remote, { manifests: manifestsFolder('shop', 'acme/shop:3.0.0'), version: '3.0.0' }),
      silentLogger,
    )
    const promoted = await publishRelease(
      options(remote, { env: 'production', fromEnv: 'staging', releasedBy: 'bob' }),
      silentLogger,
    )
    expect(promoted.changed).toBe(true)
    expect(promoted.digest).toBe(staged.digest)
    expect(promoted.version).toBe('3.0.0')
    for (const f of ['deployment-shop.yaml', 'service-shop.yaml']) {
      expect(remoteFile(remote, `releases/production/shop/${f}`)).toBe(
        remoteFile(remote, `releases/staging/shop/${f}`),
      )
    }
    expect(release(remote, 'releases/production/shop')).toMatchObject({
      env: 'production',
      version: '3.0.0',
      promotedFrom: 'staging',
      releasedBy: 'bob',
      digest: staged.digest,
    })
    const [message] = remoteMessages(remote)
    expect(message.split('\n')[0]).toBe('promote(staging→production/shop): 3.0.0')
    expect(message).toContain('Promoted-From: staging')
    expect(message).toContain(`Source-Commit: ${'a'.repeat(40)}`)
    await expect(
      publishRelease(options(remote, { env: 'production', fromEnv: 'dev' }), silentLogger),
    ).rejects.toThrow(/releases\/dev\/shop holds no release/)
  })

  test('retire leaves a release.json that says retired; retiring again removes the folder', async () => {
    const remote = bareRemote()
    await publishRelease(
      options(remote, { manifests: manifestsFolder('shop', 'acme/shop:1.0.0'), version: '1.0.0' }),
      silentLogger,
    )
    const r = await publishRelease(options(remote, { retire: true }), silentLogger)
    expect(r.diff.removed.sort()).toEqual(['Deployment/apps/shop', 'Service/apps/shop'])
    expect(remoteFolder(remote, 'releases/staging/shop')).toEqual(['release.json'])
    expect(release(remote)).toMatchObject({ retired: true, version: '1.0.0', objects: 0 })
    await publishRelease(options(remote, { retire: true }), silentLogger)
    expect(remoteFolder(remote, 'releases/staging/shop')).toEqual([])
    expect(remoteMessages(remote)[0].split('\n')[0]).toBe('retire(staging/shop): removed')
  })

  describe('bad input: a clear error and the remote unchanged', () => {
    test('a name that is not valid is not echoed (a secret pasted into the wrong input)', async () => {
      const remote = bareRemote()
      const error = await publishRelease(
        options(remote, {
          app: 'Ghp_OTHERSECRET',
          manifests: manifestsFolder('shop', 'acme/shop:1'),
          version: '1.0.0',
        }),
        silentLogger,
      ).catch((e: unknown) => e as Error)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toMatch(/input 'app' is not a valid name/)
      expect((error as Error).message).not.toContain('OTHERSECRET')
    })

    test.each([
      ['an env with a slash', { env: 'stag/ing' }, /input 'env' is not a valid name/],
      ['an app with dots', { app: '..' }, /input 'app' is not a valid name/],
      ['no version', { version: undefined }, /input 'version' is required/],
      ['two sources', { fromEnv: 'dev' }, /give exactly one of/],
      [
        'a missing folder',
        { manifests: '/nonexistent/manifests' },
        /manifests folder \/nonexistent\/manifests does not exist/,
      ],
    ])('%s', async (_name, overrides, message) => {
      const remote = bareRemote()
      const head = remoteHead(remote)
      await expect(
        publishRelease(
          options(remote, {
            manifests: manifestsFolder('shop', 'acme/shop:1'),
            version: '1.0.0',
            ...overrides,
          }),
          silentLogger,
        ),
      ).rejects.toThrow(message)
      expect(remoteHead(remote)).toBe(head)
    })

    test('an empty folder is refused unless retiring', async () => {
      const remote = bareRemote()
      const empty = join(tempDir(), 'empty')
      mkdirSync(empty)
      await expect(
        publishRelease(options(remote, { manifests: empty, version: '1.0.0' }), silentLogger),
      ).rejects.toThrow(/holds no objects; to remove the app, publish with retire: true/)
    })

    test('a folder holding the single-file form too is refused as duplicates', async () => {
      const remote = bareRemote()
      const dir = manifestsFolder('shop', 'acme/shop:1')
      writeFileSync(join(dir, 'all.yaml'), '---\n' + remoteFileText(dir, 'deployment-shop.yaml'))
      await expect(
        publishRelease(options(remote, { manifests: dir, version: '1.0.0' }), silentLogger),
      ).rejects.toThrow(/duplicate Deployment\/apps\/shop/)
    })

    test('a plaintext Secret is refused without its data', async () => {
      const remote = bareRemote()
      const dir = manifestsFolder('shop', 'acme/shop:1', {
        'secret-db.yaml':
          'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: c3VwZXJzZWNyZXQ=\n',
      })
      const message = await publishRelease(
        options(remote, { manifests: dir, version: '1.0.0' }),
        silentLogger,
      ).then(
        () => 'published',
        (e: Error) => e.message,
      )
      expect(message).toContain('Secret/db is a plaintext Secret')
      expect(message).not.toContain('c3VwZXJzZWNyZXQ=')
    })

    test('an unreachable remote says what failed', async () => {
      const remote: Remote = { path: '/nonexistent', url: 'file:///nonexistent/gitops.git' }
      await expect(
        publishRelease(
          options(remote, { manifests: manifestsFolder('shop', 'x:1'), version: '1.0.0' }),
          silentLogger,
        ),
      ).rejects.toThrow(
        /git failed to clone file:\/\/\/nonexistent\/gitops.git \(branch \(default\), depth 1\): .*does not appear to be a git repository/,
      )
    })
  })

  test('dry-run commits in the temporary clone only', async () => {
    const remote = bareRemote()
    const head = remoteHead(remote)
    const r = await publishRelease(
      options(remote, {
        manifests: manifestsFolder('shop', 'x:1'),
        version: '1.0.0',
        dryRun: true,
      }),
      silentLogger,
    )
    expect(r.changed).toBe(true)
    expect(r.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(remoteHead(remote)).toBe(head)
  })

  test('credentials in source-repo are left out of release.json and the commit, with a warning', async () => {
    const remote = bareRemote()
    const token = 'glcbt-sourcerepotoken0123456789'
    const warnings: string[] = []
    const log = { ...silentLogger, warn: (m: string) => warnings.push(m) }
    await publishRelease(
      options(remote, {
        manifests: manifestsFolder('shop', 'acme/shop:1.0.0'),
        version: '1.0.0',
        source: {
          repo: `https://gitlab-ci-token:${token}@gitlab.example.com/g/p.git`,
          commit: 'a'.repeat(40),
        },
      }),
      log,
    )
    expect(release(remote).sourceRepo).toBe('https://gitlab.example.com/g/p.git')
    expect(remoteMessages(remote)[0]).toContain('Source-Repo: https://gitlab.example.com/g/p.git')
    expect(git(remote.path, 'log', '-p', '--all')).not.toContain(token)
    expect(warnings.join('\n')).toContain("'source-repo'")
    expect(warnings.join('\n')).not.toContain(token)
  })
})

function remoteFileText(dir: string, name: string): string {
  return readFileSync(join(dir, name), 'utf8')
}

describe('publish-release as a runner runs it (dist/publish-release)', () => {
  test('inputs from INPUT_*, CI defaults from GITHUB_*, outputs and a summary', async () => {
    const remote = bareRemote()
    const manifests = manifestsFolder('web', 'acme/web:1.2.3')
    const r = await runActionBundle(
      'publish-release',
      {
        repository: remote.url,
        env: 'staging',
        app: 'web',
        manifests,
        version: '1.2.3',
        token: 'ghs_supersecrettoken123',
      },
      {
        env: {
          GITHUB_REPOSITORY: 'acme/web',
          GITHUB_SHA: 'b'.repeat(40),
          GITHUB_SERVER_URL: 'https://github.com',
          GITHUB_RUN_ID: '42',
          GITHUB_ACTOR: 'carol',
        },
      },
    )
    // The runner hides a masked value everywhere; only the mask command itself carries it.
    expect(r.stdout.split('\n').filter((l) => l.includes('ghs_supersecrettoken123'))).toEqual([
      '::add-mask::ghs_supersecrettoken123',
    ])
    expect(r.code).toBe(0)
    expect(r.outputs).toMatchObject({
      changed: 'true',
      attempts: '1',
      version: '1.2.3',
      commit: remoteHead(remote),
      'objects-added': 'Service/apps/web,Deployment/apps/web',
    })
    expect(r.summary).toContain('| added | `Deployment/apps/web` |')
    expect(release(remote, 'releases/staging/web')).toMatchObject({
      sourceRepo: 'https://github.com/acme/web',
      sourceCommit: 'b'.repeat(40),
      sourceRun: 'https://github.com/acme/web/actions/runs/42',
      releasedBy: 'carol',
    })
    const all = execFileSync('git', ['log', '-p', '--all'], { cwd: remote.path }).toString()
    expect(all).not.toContain('ghs_supersecrettoken123')
    expect(git(remote.path, 'log', '-1', '--format=%an <%ae> / %cn', 'main').trim()).toBe(
      'gitops-actions[bot] <gitops-actions@users.noreply.github.com> / gitops-actions[bot]',
    )
  })

  test('root action: command publish is an alias', async () => {
    const remote = bareRemote()
    const r = await runActionBundle('main', {
      command: 'publish',
      repository: remote.url,
      env: 'dev',
      app: 'web',
      manifests: manifestsFolder('web', 'acme/web:1'),
      version: '1.0.0',
    })
    expect(r.code).toBe(0)
    expect(r.outputs.changed).toBe('true')
  })
})
