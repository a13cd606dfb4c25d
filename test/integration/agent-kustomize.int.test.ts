// The agent's kustomize builds (--manifest-generation) are bounded: a build that hangs fails its unit
// only, within --kustomize-timeout, and a stop (SIGTERM) kills it at once.
import { execFileSync } from 'node:child_process'
import { createServer, type Server, type Socket } from 'node:net'
import { AGENT_NS as NS, agentArgs, RunningAgent } from '../support/agent.js'
import { bareRemote, pushFiles, type Remote } from '../support/git.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { kubectl } from '../support/paths.js'
import { runNode } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: KubeApiServer
let silent: { server: Server; sockets: Socket[]; port: number }

beforeEach(async () => {
  server = await startKubeApiServer({ namespaces: ['default', NS] })
  const sockets: Socket[] = []
  const s = createServer((socket) => sockets.push(socket))
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  silent = { server: s, sockets, port: (s.address() as { port: number }).port }
})
afterEach(async () => {
  for (const s of silent.sockets) s.destroy()
  silent.server.close()
  await server.stop()
})
afterAll(cleanupTempDirs)

const cm = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  a: b\n`

/** Two generated units: `good` builds at once, `hang` names a remote resource that never answers. */
function twoGenerated(): Remote {
  const remote = bareRemote()
  pushFiles(remote, {
    'releases/staging/good/kustomization.yaml': 'resources:\n  - configmap.yaml\n',
    'releases/staging/good/configmap.yaml': cm('good'),
    'releases/staging/hang/kustomization.yaml': `resources:\n  - configmap.yaml\n  - https://127.0.0.1:${silent.port}/x.yaml\n`,
    'releases/staging/hang/configmap.yaml': cm('hang'),
  })
  return remote
}

/** kubectl/kustomize processes whose command line names `needle`. */
function kustomizeProcesses(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
  return out.split('\n').filter((l) => l.includes(needle) && /kubectl|kustomize/.test(l))
}

test('a build that hangs fails its unit within --kustomize-timeout; the other unit syncs in the same cycle', async () => {
  const remote = twoGenerated()
  const work = tempDir('gitops-agent-')
  const started = Date.now()
  const r = await runNode(
    'agent',
    agentArgs(
      server,
      remote,
      ['--once', '--manifest-generation', '--kustomize-timeout', '3s', '--health-timeout', '5s'],
      work,
    ),
    { env: { GITOPS_KUSTOMIZE: kubectl } },
  )
  expect(r.stdout).toMatch(/unit=releases\/staging\/good status=synced/)
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/hang status=failed .*kustomize build .*hang did not finish within 3 s \(kustomize-timeout\); killed/,
  )
  expect(r.code).toBe(1)
  expect(Date.now() - started).toBeLessThan(20_000)
  expect(
    server.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'good', namespace: 'default' }),
  ).toBeDefined()
  expect(
    server.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'hang', namespace: 'default' }),
  ).toBeUndefined()
  expect(kustomizeProcesses(work)).toEqual([])
}, 60_000)

test('SIGTERM during a hanging build ends the agent within 2 s and leaves no kustomize', async () => {
  const remote = twoGenerated()
  const work = tempDir('gitops-agent-')
  const agent = new RunningAgent(
    agentArgs(
      server,
      remote,
      ['--manifest-generation', '--kustomize-timeout', '5m', '--listen', 'off'],
      work,
    ),
    { GITOPS_KUSTOMIZE: kubectl },
  )
  await agent.waitFor(/Running kubectl kustomize .* on .*staging\/hang/)
  // The build has started: give kubectl the moment to connect and hang.
  await new Promise((r) => setTimeout(r, 500))
  expect(kustomizeProcesses(work).length).toBeGreaterThan(0)
  const stopped = Date.now()
  const code = await agent.stop('SIGTERM')
  expect(Date.now() - stopped).toBeLessThan(2000)
  expect(code).toBe(0)
  expect(kustomizeProcesses(work)).toEqual([])
  // Said as a stop, not as a failure of git's.
  expect(agent.output).toMatch(/event=stopping: .*was stopped/)
  expect(agent.output).not.toMatch(/event=git-error/)
}, 60_000)
