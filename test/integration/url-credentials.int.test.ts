// Credentials in a git URL (`http://user:token@host/repo.git`): the agent and publish-release log in with
// them (git http-backend behind basic auth), and the token is in no file they write, so nothing can copy
// it (a kustomization in git, say) into the cluster. And kustomize never builds in a folder with `.git`.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { AGENT_NS as NS, agentArgs } from '../support/agent.js'
import { bareRemote, manifestsFolder, pushFiles, remoteFile, type Remote } from '../support/git.js'
import { startGitHttp, type GitHttpServer } from '../support/git-http.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { kubectl } from '../support/paths.js'
import { runCli, runNode } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

const USER = 'deploy-bot'
const TOKEN = 'S3CRETTOKforurlcredentials0123'
let http: GitHttpServer
let server: KubeApiServer
let remote: Remote

const cm = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  a: b\n`

beforeAll(async () => {
  remote = bareRemote()
  pushFiles(remote, { 'releases/staging/plain/cm.yaml': cm('plain') })
  http = await startGitHttp(dirname(remote.path), USER, TOKEN)
})
afterAll(async () => {
  await http.close()
  cleanupTempDirs()
})
beforeEach(async () => {
  server = await startKubeApiServer({ namespaces: ['default', NS] })
})
afterEach(async () => {
  await server.stop()
})

/** The remote's URL with the user and token in it. */
function tokenUrl(): string {
  return http.url(remote.path).replace('http://', `http://${USER}:${TOKEN}@`)
}

/** Every file under `dir` whose bytes hold the token (plain or in a basic-auth header). */
function filesWithToken(dir: string): string[] {
  const basic = Buffer.from(`${USER}:${TOKEN}`).toString('base64')
  const hits: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      let stat
      try {
        stat = statSync(path)
      } catch {
        continue // removed meanwhile
      }
      if (stat.isDirectory()) walk(path)
      else if (stat.isFile()) {
        const text = readFileSync(path).toString('latin1')
        if (text.includes(TOKEN) || text.includes(basic)) hits.push(path)
      }
    }
  }
  walk(dir)
  return hits
}

/** Looks at the disk on every request the remote serves, while the process works. */
function watchDisk(dir: string): string[] {
  const seen: string[] = []
  http.onRequest = () => seen.push(...filesWithToken(dir))
  return seen
}

test('the agent logs in with the URL credentials; the token is in no file of its work dir', async () => {
  const work = tempDir('gitops-agent-')
  const seen = watchDisk(work)
  const args = agentArgs(server, remote, ['--once', '--health-timeout', '5s'], work)
  args[args.indexOf('--git-url') + 1] = tokenUrl()
  const r = await runNode('agent', args, { env: { TMPDIR: work } })
  http.onRequest = undefined
  expect(r.stdout).toMatch(/unit=releases\/staging\/plain status=synced/)
  expect(r.code).toBe(0)
  expect(seen).toEqual([])
  expect(filesWithToken(work)).toEqual([])
  expect(r.stdout + r.stderr).not.toContain(TOKEN)
  // Run again: the clone (its origin stored without the credentials) is reused, not cloned afresh.
  const again = await runNode('agent', args, { env: { TMPDIR: work } })
  expect(again.code).toBe(0)
  expect(again.stdout).not.toMatch(/Cloning/)
  expect(filesWithToken(work)).toEqual([])
}, 60_000)

test('publish-release (CLI) logs in with the URL credentials; the token is in no temp file', async () => {
  const tmp = tempDir()
  const seen = watchDisk(tmp)
  const r = await runCli(
    [
      'publish-release',
      '--repository',
      tokenUrl(),
      '--env',
      'staging',
      '--app',
      'shop',
      '--manifests',
      manifestsFolder('shop', 'acme/shop:1.0.0'),
      '--version',
      '1.0.0',
    ],
    { env: { TMPDIR: tmp, RUNNER_TEMP: tmp } },
  )
  http.onRequest = undefined
  expect(r.code).toBe(0)
  expect(remoteFile(remote, 'releases/staging/shop/release.json')).toContain('"1.0.0"')
  expect(seen.length).toBe(0)
  expect(filesWithToken(tmp)).toEqual([])
  expect(r.stdout + r.stderr).not.toContain(TOKEN)
}, 60_000)

/** The agent, with --manifest-generation, on a remote whose whole repository is the git path. */
async function generateFromRoot(
  files: Record<string, string>,
): Promise<{ stdout: string; data: string }> {
  const remote = bareRemote()
  pushFiles(remote, files)
  const args = agentArgs(server, remote, [
    '--once',
    '--manifest-generation',
    '--health-timeout',
    '5s',
  ])
  args.splice(args.indexOf('--git-path'), 2)
  const r = await runNode('agent', args, { env: { GITOPS_KUSTOMIZE: kubectl } })
  const data = JSON.stringify(server.objects.list('v1', 'ConfigMap', 'default').map((c) => c.data))
  // No trace of the clone's config: its sections, or the remote's URL.
  for (const trace of ['[remote', '[core]', remote.path]) expect(data).not.toContain(trace)
  return { stdout: r.stdout, data }
}

const generator = (name: string, file: string) =>
  `configMapGenerator:\n  - name: ${name}\n    namespace: default\n    files:\n      - ${file}\n`

test('kustomize builds outside the clone: a kustomization at the root cannot read .git/config', async () => {
  const r = await generateFromRoot({ 'kustomization.yaml': generator('leak', '.git/config') })
  expect(r.stdout).toMatch(/unit=\. status=failed/)
}, 60_000)

test('a unit cannot read ../.git/config; generated units still build', async () => {
  const r = await generateFromRoot({
    'up/kustomization.yaml': generator('up', '../.git/config'),
    'good/kustomization.yaml': 'resources:\n  - cm.yaml\n',
    'good/cm.yaml': cm('good'),
  })
  expect(r.stdout).toMatch(/unit=up status=failed/)
  expect(r.stdout).toMatch(/unit=good status=synced/)
  expect(r.data).toContain('"a":"b"')
}, 60_000)
