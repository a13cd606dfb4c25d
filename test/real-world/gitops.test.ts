// The real flux-get-started gitops repo (81 commits of Flux v1 history) as the remote: releases of two
// podinfo apps rendered by the render action and published on top by the publish action, then one app
// rolled back, pinned, and unpinned — each step as a runner runs the bundles.
import { join } from 'node:path'
import { git, remoteFile, remoteFolder, remoteHead, type Remote } from '../support/git.js'
import { kubectl, sharedFixtures } from '../support/paths.js'
import { runActionBundle } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

const podinfo = join(sharedFixtures, 'apps', 'podinfo')

function fluxGetStarted(): Remote {
  const dir = tempDir()
  const path = join(dir, 'flux-get-started.git')
  git(
    dir,
    'clone',
    '--quiet',
    '--bare',
    join(sharedFixtures, 'gitops-repos', 'flux-get-started.bundle'),
    path,
  )
  return { path, url: `file://${path}` }
}

async function renderAndPublish(remote: Remote, app: string, target: string, tag: string) {
  const out = join(tempDir(), 'manifests')
  const rendered = await runActionBundle('render', {
    path: join(podinfo, target),
    images: `ghcr.io/stefanprodan/podinfo:${tag}`,
    'output-dir': out,
    kustomize: kubectl,
  })
  expect(rendered.code).toBe(0)
  const published = await runActionBundle('publish-release', {
    repository: remote.url,
    env: 'staging',
    app,
    manifests: rendered.outputs['manifests-dir'],
    version: tag,
    'kustomize-version': rendered.outputs['kustomize-version'],
  })
  return published
}

const objectFiles = (remote: Remote, app: string, ref: string) =>
  Object.fromEntries(
    remoteFolder(remote, `releases/staging/${app}`, ref)
      .filter((f) => f !== 'release.json')
      .map((f) => [f, remoteFile(remote, `releases/staging/${app}/${f}`, ref)]),
  )

test('publish two apps onto flux-get-started, roll one back, pin, unpin', async () => {
  const remote = fluxGetStarted()
  const original = remoteHead(remote, 'master')
  const commits: Record<string, string> = {}
  for (const tag of ['6.0.0', '6.1.0', '6.2.0']) {
    for (const [app, target] of [
      ['frontend', 'kustomize'],
      ['backend', 'deploy/overlays/staging'],
    ]) {
      const r = await renderAndPublish(remote, app, target, tag)
      expect(r.code).toBe(0)
      expect(r.outputs.changed).toBe('true')
      commits[`${app}@${tag}`] = r.outputs.commit
    }
  }
  const backendBefore = objectFiles(remote, 'backend', 'master')

  const rb = await runActionBundle('rollback', {
    repository: remote.url,
    env: 'staging',
    app: 'frontend',
    to: '6.0.0',
    reason: 'errors after 6.1',
  })
  expect(rb.code).toBe(0)
  expect(rb.outputs.reverted.split(',')).toEqual([
    commits['frontend@6.2.0'],
    commits['frontend@6.1.0'],
  ])

  // The object files equal that release's byte for byte; release.json differs by the pin.
  expect(objectFiles(remote, 'frontend', 'master')).toEqual(
    objectFiles(remote, 'frontend', commits['frontend@6.0.0']),
  )
  const now = JSON.parse(remoteFile(remote, 'releases/staging/frontend/release.json', 'master')!)
  const then = JSON.parse(
    remoteFile(remote, 'releases/staging/frontend/release.json', commits['frontend@6.0.0'])!,
  )
  expect(now.pinned).toMatchObject({ reason: 'errors after 6.1', from: '6.2.0' })
  delete now.pinned
  expect(now).toEqual(then)
  // The other app is untouched; the whole history is kept.
  expect(objectFiles(remote, 'backend', 'master')).toEqual(backendBefore)
  git(remote.path, 'merge-base', '--is-ancestor', original, 'master')
  expect(Number(git(remote.path, 'rev-list', '--count', 'master').trim())).toBe(81 + 6 + 1)
  expect(remoteFile(remote, 'workloads/podinfo-dep.yaml', 'master')).toBe(
    remoteFile(remote, 'workloads/podinfo-dep.yaml', original),
  )

  // A publish now fails naming the pin; unpin lets it through.
  const refused = await renderAndPublish(remote, 'frontend', 'kustomize', '6.3.0')
  expect(refused.code).toBe(1)
  expect(refused.stdout).toContain(
    `releases/staging/frontend is pinned at 6.0.0 by rollback ${rb.outputs.commit.slice(0, 12)}`,
  )
  const unpinned = await runActionBundle('main', {
    command: 'unpin',
    repository: remote.url,
    env: 'staging',
    app: 'frontend',
  })
  expect(unpinned.code).toBe(0)
  expect(unpinned.outputs.changed).toBe('true')
  const accepted = await renderAndPublish(remote, 'frontend', 'kustomize', '6.3.0')
  expect(accepted.code).toBe(0)
  expect(
    remoteFile(remote, 'releases/staging/frontend/deployment-podinfo.yaml', 'master'),
  ).toContain('podinfo:6.3.0')
})
