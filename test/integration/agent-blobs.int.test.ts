// The sync agent (dist/agent) reading what git holds when it is too big or not what it seems: a huge
// file in one unit, a kustomize build whose output would not fit the agent's memory, folder names that
// are not UTF-8. Each fails its own unit, named; the units beside it sync.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { AGENT_NS as NS, agentArgs } from '../support/agent.js'
import { bareRemote, git, pushFiles, type Remote } from '../support/git.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { runNode } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: KubeApiServer

beforeEach(async () => {
  server = await startKubeApiServer({
    namespaces: ['default', NS],
    rolloutDelayMs: 20,
    progressDeadlineMs: 300,
  })
})
afterEach(async () => {
  await server.stop()
})
afterAll(cleanupTempDirs)

const cm = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\n`

const once = (remote: Remote, extra: string[] = []) =>
  runNode(
    'agent',
    agentArgs(
      server,
      remote,
      ['--once', '--health-timeout', '10s', ...extra],
      tempDir('gitops-agent-'),
    ),
    { env: { PATH: `${join(process.cwd(), '.tools/bin')}:${process.env.PATH}` } },
  )

const configMaps = () =>
  server.objects
    .list('v1', 'ConfigMap', 'default')
    .map((c) => c.metadata?.name)
    .filter((n) => !n?.startsWith('gitops-unit-'))
    .sort()

/** A clone of `remote` to commit raw bytes and huge files in; `push` sends what was written. */
function workTree(remote: Remote) {
  const dir = join(tempDir('gitops-push-'), 'w')
  git(tempDir(), 'clone', '--quiet', remote.url, dir)
  return {
    dir,
    push() {
      git(dir, 'add', '--all')
      git(dir, 'commit', '--quiet', '-m', 'content')
      git(dir, 'push', '--quiet', 'origin', 'HEAD:main')
    },
  }
}

test('a 272 MB file fails its own unit, named with its size, unread; the unit beside it syncs', async () => {
  const remote = bareRemote()
  const work = workTree(remote)
  mkdirSync(join(work.dir, 'releases/staging/big'), { recursive: true })
  mkdirSync(join(work.dir, 'releases/staging/small'), { recursive: true })
  writeFileSync(join(work.dir, 'releases/staging/small/a.yaml'), cm('small'))
  // More than the 256 MiB git's output was once capped at, in few bytes of git objects.
  const fd = openSync(join(work.dir, 'releases/staging/big/huge.yaml'), 'w')
  const chunk = Buffer.alloc(16 * 1024 * 1024, 'x')
  for (let i = 0; i < 17; i++) writeSync(fd, chunk)
  closeSync(fd)
  work.push()
  const r = await once(remote)
  expect(r.stdout).toMatch(/unit=releases\/staging\/small status=synced/)
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/big status=failed .*releases\/staging\/big\/huge\.yaml is 272 MiB/,
  )
  expect(r.stdout).not.toMatch(/git-error/)
  expect(configMaps()).toEqual(['small'])
  expect(r.code).toBe(1)
}, 180_000)

test('a kustomize build writing more than the loader takes is killed at the limit; the agent stays small', async () => {
  const remote = bareRemote()
  // 18 copies of 1 MiB: past the 16 MiB the loader takes, well within kustomize's memory limit.
  const copies = 18
  const files: Record<string, string> = {
    'releases/staging/big/base/kustomization.yaml': 'resources:\n- cm.yaml\n',
    'releases/staging/big/base/cm.yaml': `${cm('big')}data:\n  a: "${'x'.repeat(1024 * 1024)}"\n`,
    'releases/staging/big/kustomization.yaml': `resources:\n${Array.from({ length: copies }, (_, i) => `- c${i}\n`).join('')}`,
    'releases/staging/small/a.yaml': cm('small'),
  }
  for (let i = 0; i < copies; i++)
    files[`releases/staging/big/c${i}/kustomization.yaml`] =
      `resources:\n- ../base\nnameSuffix: "-s${i}"\n`
  pushFiles(remote, files)
  const r = await once(remote, ['--manifest-generation'])
  expect(r.stdout).toMatch(/unit=releases\/staging\/small status=synced/)
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/big status=failed .*kustomize build \S*releases\/staging\/big wrote more than 16 MiB of output/,
  )
  const rss = Number(/event=done .*maxRssMB=(\d+)/.exec(r.stdout)?.[1])
  expect(rss).toBeLessThan(300)
  expect(configMaps()).toEqual(['small'])
}, 180_000)

test('folders named with bytes that are not UTF-8 each fail their own unit, never one merged unit', async () => {
  const remote = bareRemote()
  const work = workTree(remote)
  const staging = Buffer.from(join(work.dir, 'releases/staging/'))
  for (const [byte, name] of [
    [0xff, 'ff'],
    [0xfe, 'fe'],
  ] as const) {
    const folder = Buffer.concat([staging, Buffer.from([byte])])
    mkdirSync(folder, { recursive: true })
    writeFileSync(Buffer.concat([folder, Buffer.from('/a.yaml')]), cm(`from-${name}`))
  }
  mkdirSync(join(work.dir, 'releases/staging/good'), { recursive: true })
  writeFileSync(join(work.dir, 'releases/staging/good/a.yaml'), cm('good'))
  work.push()
  const r = await once(remote)
  expect(r.stdout).toMatch(/unit=releases\/staging\/good status=synced/)
  for (const name of ['ff', 'fe'])
    expect(r.stdout).toMatch(
      new RegExp(
        // The log's quoting doubles the backslash inside error="…".
        `unit=releases/staging/\\\\x${name} status=failed .*a file or folder name under releases/staging/\\\\\\\\x${name} is not UTF-8`,
      ),
    )
  expect(r.stdout).not.toMatch(/\uFFFD/)
  expect(configMaps()).toEqual(['good'])
  expect(r.code).toBe(1)
}, 60_000)
