// Many pipelines publishing at once, as separate processes (the CLI bundle) against one bare remote.
import {
  bareRemote,
  git,
  manifestsFolder,
  remoteFile,
  remoteFolder,
  remoteMessages,
  type Remote,
} from '../support/git.js'
import { runCli } from '../support/run-bundle.js'
import { cleanupTempDirs } from '../support/tmp.js'
import { readManifestFolder } from '../../src/lib/manifests/folder.js'
import { manifestsDigest } from '../../src/lib/manifests/objects.js'
import type { KubeObject } from '../../src/lib/manifests/yaml.js'
import { tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

function publishCli(remote: Remote, app: string, version: string) {
  return runCli([
    'publish-release',
    '--repository',
    remote.url,
    '--env',
    'staging',
    '--app',
    app,
    '--manifests',
    manifestsFolder(app, `acme/${app}:${version}`),
    '--version',
    version,
  ])
}

test('20 publishers of 20 apps at the same moment, 3 rounds: every release lands, with its trailers', async () => {
  const remote = bareRemote()
  const apps = Array.from({ length: 20 }, (_, i) => `app-${String(i).padStart(2, '0')}`)
  let retried = 0
  for (const round of [1, 2, 3]) {
    const version = `1.${round}.0`
    const runs = await Promise.all(apps.map((app) => publishCli(remote, app, version)))
    for (const [i, r] of runs.entries()) {
      expect({ app: apps[i], code: r.code, stderr: r.code ? r.stderr : '' }).toEqual({
        app: apps[i],
        code: 0,
        stderr: '',
      })
      expect(r.outputs.changed).toBe('true')
      retried += Number(r.outputs.attempts) > 1 ? 1 : 0
    }
    for (const app of apps) {
      expect(JSON.parse(remoteFile(remote, `releases/staging/${app}/release.json`)!).version).toBe(
        version,
      )
    }
  }
  const messages = remoteMessages(remote)
  expect(messages).toHaveLength(1 + 60)
  for (const app of apps) {
    for (const round of [1, 2, 3]) {
      const found = messages.filter((m) => m.startsWith(`release(staging/${app}): 1.${round}.0\n`))
      expect(found).toHaveLength(1)
      expect(found[0]).toContain(
        `Gitops-App: ${app}\nGitops-Env: staging\nGitops-Version: 1.${round}.0`,
      )
    }
  }
  // Linear history: no merges, nothing force-pushed.
  expect(git(remote.path, 'rev-list', '--merges', 'main').trim()).toBe('')
  expect(retried).toBeGreaterThan(0) // the race really happened
}, 240_000)

test('two publishers of the same env/app race: one lands, the other fails clearly or lands after it, never a mix', async () => {
  for (let round = 0; round < 3; round++) {
    const remote = bareRemote()
    const [a, b] = await Promise.all([
      publishCli(remote, 'shop', '1.0.0'),
      publishCli(remote, 'shop', '2.0.0'),
    ])
    expect(b.code).toBe(0) // the newer one always lands
    if (a.code !== 0) {
      expect(a.stderr).toMatch(/refusing to downgrade releases\/staging\/shop: it holds 2\.0\.0/)
    }
    const info = JSON.parse(remoteFile(remote, 'releases/staging/shop/release.json')!)
    expect(info.version).toBe('2.0.0')
    // The folder holds exactly the objects that release.json describes.
    const dir = tempDir()
    git(dir, 'clone', '--quiet', remote.url, 'c')
    const docs = await readManifestFolder(`${dir}/c/releases/staging/shop`, {
      skip: ['release.json'],
    })
    expect(manifestsDigest(docs.map((d) => d.value as KubeObject))).toBe(info.digest)
    expect(remoteFolder(remote, 'releases/staging/shop')).toEqual([
      'deployment-shop.yaml',
      'release.json',
      'service-shop.yaml',
    ])
    expect(remoteFile(remote, 'releases/staging/shop/deployment-shop.yaml')).toContain(
      'acme/shop:2.0.0',
    )
  }
})
