// Flux v1's own end-to-end scenarios, on the real flux-get-started repo served over SSH with a read-only
// deploy key and a pinned host key, synced by the agent bundle with --git-path=namespaces,workloads into
// the project's test API server.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, pushFiles, type Remote } from '../support/git.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { sharedFixtures } from '../support/paths.js'
import { runNode } from '../support/run-bundle.js'
import { generateSshKey, startSshd, type SshServer } from '../support/sshd.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let sshd: SshServer
let api: KubeApiServer
let remote: Remote
let keyFile: string
let knownHosts: string
const work = tempDir('gitops-agent-')

beforeAll(async () => {
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
  remote = { path, url: `file://${path}` }
  const key = await generateSshKey(tempDir(), 'deploy-key')
  keyFile = key.privateKeyPath
  sshd = await startSshd({ readOnlyKeys: [key.publicKey] })
  knownHosts = join(tempDir(), 'known_hosts')
  writeFileSync(knownHosts, `${sshd.hostKeyLine}\n`)
  api = await startKubeApiServer({ namespaces: ['default', 'flux'], rolloutDelayMs: 20 })
})
afterAll(async () => {
  await api?.stop()
  await sshd?.stop()
  cleanupTempDirs()
})

function agent(...extra: string[]) {
  return runNode('agent', [
    '--once',
    `--git-url=${sshd.url(remote.path)}`,
    '--git-branch=master',
    '--git-path=namespaces,workloads',
    `--ssh-key=${keyFile}`,
    `--known-hosts=${knownHosts}`,
    `--kubeconfig=${api.kubeconfigPath}`,
    '--namespace=flux',
    '--log-format=text',
    `--work-dir=${work}`,
    '--health-timeout=10s',
    ...extra,
  ])
}

const image = () =>
  api.objects.get({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'demo',
    name: 'podinfo',
  })?.spec?.template.spec.containers[0].image
const workload = (file: string) => git(remote.path, 'show', `master:workloads/${file}`)

test('Flux v1 scenarios: sync, image change, duplicate, garbage collection; charts/ never read', async () => {
  // The repo as it is: its HPA is autoscaling/v2beta1, which Kubernetes 1.25 removed. That unit fails,
  // saying why, and nothing of it is applied; the namespaces unit syncs.
  const first = await agent()
  expect(first.code).toBe(1)
  expect(first.stdout).toMatch(
    /event=refreshed url=ssh:\/\/root@127\.0\.0\.1:\d+\/.* HEAD=[0-9a-f]{40}/,
  )
  expect(first.stdout).toMatch(/unit=namespaces status=synced/)
  expect(first.stdout).toMatch(
    /unit=workloads status=failed .*discover HorizontalPodAutoscaler in autoscaling\/v2beta1: the server does not serve autoscaling\/v2beta1/,
  )
  expect(api.objects.get({ apiVersion: 'v1', kind: 'Namespace', name: 'demo' })).toBeDefined()
  expect(image()).toBeUndefined()

  // Moving the HPA to autoscaling/v2 (as any upgrade would): podinfo appears in demo.
  pushFiles(
    remote,
    {
      'workloads/podinfo-hpa.yaml': workload('podinfo-hpa.yaml')
        .replace('autoscaling/v2beta1', 'autoscaling/v2')
        .replace(/\n {2}metrics:[\s\S]*$/, '\n'),
    },
    'hpa: autoscaling/v2',
    'master',
  )
  const synced = await agent()
  expect(synced.stdout).toMatch(/unit=workloads status=synced .*applied=3/)
  expect(synced.code).toBe(0)
  expect(image()).toBe('stefanprodan/podinfo:3.1.0')

  // A pushed image change reaches the cluster.
  pushFiles(
    remote,
    {
      'workloads/podinfo-dep.yaml': workload('podinfo-dep.yaml').replace(
        'stefanprodan/podinfo:3.1.0',
        'stefanprodan/podinfo:3.1.5',
      ),
    },
    'podinfo 3.1.5',
    'master',
  )
  expect((await agent()).code).toBe(0)
  expect(image()).toBe('stefanprodan/podinfo:3.1.5')

  // A duplicated resource definition fails the sync and applies nothing of that change.
  pushFiles(
    remote,
    {
      'workloads/podinfo-dep.yaml': workload('podinfo-dep.yaml').replace(
        'stefanprodan/podinfo:3.1.5',
        'stefanprodan/podinfo:3.2.0',
      ),
      'workloads/podinfo-dep-copy.yaml': workload('podinfo-dep.yaml'),
    },
    'duplicate',
    'master',
  )
  const duplicated = await agent()
  expect(duplicated.code).toBe(1)
  expect(duplicated.stdout).toMatch(
    /unit=workloads status=failed .*duplicate Deployment\/demo\/podinfo/,
  )
  expect(image()).toBe('stefanprodan/podinfo:3.1.5')
  pushFiles(remote, { 'workloads/podinfo-dep-copy.yaml': null }, 'remove the duplicate', 'master')
  expect((await agent()).code).toBe(0)
  expect(image()).toBe('stefanprodan/podinfo:3.2.0')

  // With garbage collection on, a manifest removed from git is removed from the cluster.
  pushFiles(remote, { 'workloads/podinfo-svc.yaml': null }, 'remove the service', 'master')
  const gc = await agent('--sync-garbage-collection')
  expect(gc.code).toBe(0)
  expect(gc.stdout).toMatch(/event=pruned unit=workloads Service\/demo\/podinfo/)
  expect(
    api.objects.get({ apiVersion: 'v1', kind: 'Service', namespace: 'demo', name: 'podinfo' }),
  ).toBeUndefined()

  // Nothing under charts/ (Helm templates, not manifests) or releases/ was read or applied.
  const all = [...first.stdout, ...synced.stdout, ...gc.stdout].join('')
  expect(all).not.toMatch(/charts\/|releases\//)
  expect(api.objects.list('apps/v1', 'Deployment')).toHaveLength(1)
  expect(api.requests.all().filter((r) => /ghost|mongodb|redis/.test(r.path))).toEqual([])
})
