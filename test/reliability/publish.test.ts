// Publish under faults, as users run it (the CLI bundle, one process per pipeline) against bare remotes
// on disk: many pipelines at once, many versions of one app at once, a remote whose hook refuses pushes
// at random, and a remote that never answers. Nothing that landed may be lost, the remote's history stays
// linear, a commit only ever touches its own app's folder, and every failure says clearly what failed.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { readManifestFolder } from '../../src/lib/manifests/folder.js'
import { manifestsDigest } from '../../src/lib/manifests/objects.js'
import type { KubeObject } from '../../src/lib/manifests/yaml.js'
import { bareRemote, git, manifestsFolder, remoteFile, type Remote } from '../support/git.js'
import { hangingServer, processesWith, refusingHook, runGuarded } from '../support/faults.js'
import { runCli, type BundleRun } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'
import { recordFault } from './report.js'

afterAll(cleanupTempDirs)

const ENV = 'staging'

function publish(remote: Remote, app: string, version: string, extra: string[] = []) {
  return runCli([
    'publish-release',
    '--repository',
    remote.url,
    '--env',
    ENV,
    '--app',
    app,
    '--manifests',
    manifestsFolder(app, `acme/${app}:${version}`),
    '--version',
    version,
    ...extra,
  ])
}

/** The version in the remote's release.json of `app`, or undefined. */
function versionInPlace(remote: Remote, app: string): string | undefined {
  const text = remoteFile(remote, `releases/${ENV}/${app}/release.json`)
  return text === undefined ? undefined : (JSON.parse(text) as { version: string }).version
}

function isInHistory(remote: Remote, commit: string): boolean {
  try {
    git(remote.path, 'merge-base', '--is-ancestor', commit, 'main')
    return true
  } catch {
    return false
  }
}

/** Commits of the remote with more than one parent (a linear history has none). */
function merges(remote: Remote): string[] {
  return git(remote.path, 'rev-list', '--min-parents=2', 'main').trim().split('\n').filter(Boolean)
}

/** Each commit but the first, with the files it touched and the app its message names. */
function commitsTouching(remote: Remote): { commit: string; app?: string; files: string[] }[] {
  const commits = git(remote.path, 'rev-list', '--no-merges', '--max-parents=1', 'main')
    .trim()
    .split('\n')
    .filter(Boolean)
  return commits
    .filter((c) => git(remote.path, 'rev-list', '--count', c).trim() !== '1')
    .map((commit) => {
      const subject = git(remote.path, 'log', '-1', '--format=%s', commit)
      const files = git(remote.path, 'diff-tree', '--no-commit-id', '--name-only', '-r', commit)
        .trim()
        .split('\n')
        .filter(Boolean)
      return { commit, app: new RegExp(`^release\\(${ENV}/([^)]+)\\)`).exec(subject)?.[1], files }
    })
}

/** Commits that touch anything outside `releases/<env>/<app>/` of the app their message names. */
function strayCommits(remote: Remote): string[] {
  return commitsTouching(remote)
    .filter(
      ({ app, files }) =>
        app === undefined || files.some((f) => !f.startsWith(`releases/${ENV}/${app}/`)),
    )
    .map(({ commit, files }) => `${commit.slice(0, 12)}: ${files.join(', ')}`)
}

/**
 * Apps whose folder in the remote does not hold exactly the objects its release.json describes (by
 * digest): a half-written release, or a mix of two.
 */
async function mixedFolders(remote: Remote): Promise<string[]> {
  const clone = join(tempDir('gitops-check-'), 'c')
  git(dirname(clone), 'clone', '--quiet', remote.url, clone)
  const root = join(clone, 'releases', ENV)
  if (!existsSync(root)) return []
  const mixed: string[] = []
  for (const app of readdirSync(root)) {
    const info = JSON.parse(readFileSync(join(root, app, 'release.json'), 'utf8')) as {
      digest: string
    }
    const docs = await readManifestFolder(join(root, app), { skip: ['release.json'] })
    if (manifestsDigest(docs.map((d) => d.value as KubeObject)) !== info.digest) mixed.push(app)
  }
  return mixed
}

function failure(app: string, r: BundleRun): string {
  return `${app}: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`
}

test('20 pipelines publish 20 apps at once, 3 rounds: every release lands, nothing is lost', async () => {
  const remote = bareRemote()
  const apps = Array.from({ length: 20 }, (_, i) => `app-${String(i).padStart(2, '0')}`)
  const landed: { app: string; version: string; commit: string }[] = []
  const failed: string[] = []
  for (const round of [1, 2, 3]) {
    const version = `1.${round}.0`
    const runs = await Promise.all(apps.map((app) => publish(remote, app, version)))
    runs.forEach((r, i) => {
      if (r.code === 0 && r.outputs.commit)
        landed.push({ app: apps[i], version, commit: r.outputs.commit })
      else failed.push(failure(apps[i], r))
    })
  }
  const lostCommits = landed.filter((l) => !isInHistory(remote, l.commit))
  const wrongFinal = apps.filter((app) => versionInPlace(remote, app) !== '1.3.0')
  const mixed = await mixedFolders(remote)
  const lost = lostCommits.length + wrongFinal.length + merges(remote).length + mixed.length
  recordFault({
    fault: 'publish: 20 apps at once × 3 rounds',
    tries: apps.length * 3,
    recovered: landed.length - lostCommits.length,
    lost,
  })
  expect({
    failed,
    lostCommits,
    wrongFinal,
    merges: merges(remote),
    stray: strayCommits(remote),
    mixed,
  }).toEqual({
    failed: [],
    lostCommits: [],
    wrongFinal: [],
    merges: [],
    stray: [],
    mixed: [],
  })
  expect(lost).toBe(0)
}, 180_000)

test('10 pipelines publish 10 versions of one app at once: the newest ends in place, the others land before it or are refused as older', async () => {
  const remote = bareRemote()
  const versions = Array.from({ length: 10 }, (_, i) => `2.${i}.0`)
  const newest = versions[versions.length - 1]
  const runs = await Promise.all(versions.map((v) => publish(remote, 'shop', v)))
  const landed: { version: string; commit: string }[] = []
  const refusedOlder: string[] = []
  const unclear: string[] = []
  runs.forEach((r, i) => {
    if (r.code === 0 && r.outputs.commit)
      landed.push({ version: versions[i], commit: r.outputs.commit })
    else if (/refusing to downgrade releases\/staging\/shop: it holds /.test(r.stderr))
      refusedOlder.push(versions[i])
    else unclear.push(failure(versions[i], r))
  })
  const lostCommits = landed.filter((l) => !isInHistory(remote, l.commit))
  const final = versionInPlace(remote, 'shop')
  // Landed releases follow one another in ascending order: none went in after a newer one.
  const order = git(remote.path, 'log', '--reverse', '--format=%s', 'main')
    .split('\n')
    .filter((s) => s.startsWith('release('))
    .map((s) => s.replace(/^release\(staging\/shop\): /, ''))
  const ascending = order.every(
    (v, i) => i === 0 || Number(v.split('.')[1]) > Number(order[i - 1].split('.')[1]),
  )
  const mixed = await mixedFolders(remote)
  const lost =
    lostCommits.length +
    (final === newest ? 0 : 1) +
    merges(remote).length +
    (ascending ? 0 : 1) +
    mixed.length
  recordFault({
    fault: 'publish: 10 versions of one app at once',
    tries: versions.length,
    recovered: landed.length + refusedOlder.length - lostCommits.length,
    lost,
  })
  expect({
    final,
    unclear,
    lostCommits,
    merges: merges(remote),
    order: ascending ? 'ascending' : order,
    mixed,
  }).toEqual({
    final: newest,
    unclear: [],
    lostCommits: [],
    merges: [],
    order: 'ascending',
    mixed: [],
  })
  expect(landed.map((l) => l.version)).toContain(newest)
  expect(strayCommits(remote)).toEqual([])
  expect(lost).toBe(0)
}, 120_000)

test('a pre-receive hook refuses 30 % of pushes: each release lands within max-attempts or fails clearly; the remote is never half-written', async () => {
  const remote = bareRemote()
  refusingHook(remote.path, 30, 12)
  const apps = Array.from({ length: 12 }, (_, i) => `svc-${String(i).padStart(2, '0')}`)
  const landed: { app: string; version: string; commit: string }[] = []
  const clear: { app: string; version: string }[] = []
  const unclear: string[] = []
  for (const round of [1, 2]) {
    const version = `3.${round}.0`
    const runs = await Promise.all(
      apps.map((app) => publish(remote, app, version, ['--max-attempts', '5'])),
    )
    runs.forEach((r, i) => {
      if (r.code === 0 && r.outputs.commit)
        landed.push({ app: apps[i], version, commit: r.outputs.commit })
      // A clear error: what failed (the push, the hook's refusal, the attempts used) and nothing else.
      else if (
        r.code === 1 &&
        /gitops-actions publish-release: .*(push|pre-receive hook declined|rejected)/is.test(
          r.stderr,
        ) &&
        !/TypeError|RangeError|at .*\.js:\d+/.test(r.stderr)
      )
        clear.push({ app: apps[i], version })
      else unclear.push(failure(apps[i], r))
    })
  }
  const refusals = countRefusals(remote)
  const lostCommits = landed.filter((l) => !isInHistory(remote, l.commit))
  // What a failed publish left: its app stays at what landed before it (or absent), never a mix.
  const wrongState = apps.filter((app) => {
    const expected = landed
      .filter((l) => l.app === app)
      .map((l) => l.version)
      .sort()
      .pop()
    return versionInPlace(remote, app) !== expected
  })
  const stray = strayCommits(remote)
  const mixed = await mixedFolders(remote)
  const lost =
    lostCommits.length + wrongState.length + stray.length + merges(remote).length + mixed.length
  recordFault({
    fault: 'publish: pre-receive hook refuses 30 %',
    tries: apps.length * 2,
    recovered: landed.length - lostCommits.length + clear.length,
    lost,
  })
  expect({ unclear, lostCommits, wrongState, stray, mixed, merges: merges(remote) }).toEqual({
    unclear: [],
    lostCommits: [],
    wrongState: [],
    stray: [],
    mixed: [],
    merges: [],
  })
  expect(refusals).toBeGreaterThan(0) // the fault really happened
  expect(lost).toBe(0)
}, 120_000)

/** Pushes the hook refused (from its log). */
function countRefusals(remote: Remote): number {
  const log = join(remote.path, 'fault.log')
  if (!existsSync(log)) return 0
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('refuse ')).length
}

test('a remote that never answers: publish fails clearly within its git-timeout and leaves no git process behind', async () => {
  const server = await hangingServer()
  const work = tempDir('gitops-hang-')
  const timeoutS = 3
  try {
    const run = await runGuarded(
      'cli',
      [
        'publish-release',
        '--repository',
        server.url,
        '--env',
        ENV,
        '--app',
        'shop',
        '--manifests',
        manifestsFolder('shop', 'acme/shop:1.0.0'),
        '--version',
        '1.0.0',
        '--git-timeout',
        String(timeoutS),
      ],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: work },
        cwd: work,
        guardMs: 60_000,
      },
    )
    // git's children (git-remote-http) carry the URL: none may outlive the publish.
    await new Promise((r) => setTimeout(r, 500))
    const left = processesWith(`127.0.0.1:${server.port}`)
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL')
      } catch {
        // gone meanwhile
      }
    }
    // Node's start and the CLI's own work come on top of the git timeout; a loaded runner is slow.
    const inTime = !run.killedByGuard && run.ms < (timeoutS + 12) * 1000
    const clearError =
      run.code === 1 &&
      /did not finish within 3 s|timed? ?out/i.test(run.stderr) &&
      /clone|git/i.test(run.stderr)
    recordFault({
      fault: 'publish: remote never answers (git-timeout 3 s)',
      tries: 1,
      recovered: inTime && clearError && left.length === 0 ? 1 : 0,
      lost: (inTime ? 0 : 1) + left.length,
    })
    expect({
      code: run.code,
      inTime,
      ms: run.ms,
      stderr: run.stderr.trim().split('\n').slice(-2).join(' | '),
      left: left.map((p) => p.args),
    }).toEqual({
      code: 1,
      inTime: true,
      ms: run.ms,
      stderr: expect.stringMatching(/did not finish within 3 s|timed? ?out/i),
      left: [],
    })
    expect(clearError).toBe(true)
    expect(server.connections()).toBeGreaterThan(0)
  } finally {
    await server.close()
  }
}, 90_000)
