/**
 * install-agent's manifests: deploy/base rendered by the real kustomize (the pinned kubectl) through the
 * overlay the options make. The namespace lands everywhere it should, the flags and image in the
 * Deployment (and the agent reads those flags as meant), the install's labels on every object, and no
 * secret value in the overlay, the log or the files written for `output-dir`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../../src/agent/config.js'
import { ConfigurationError } from '../../src/lib/errors.js'
import {
  agentObjects,
  deployBaseDir,
  renderAgentManifests,
  writeManifests,
  type AgentManifestOptions,
} from '../../src/lib/install/manifests.js'
import { resolveKustomize } from '../../src/lib/kustomize/kustomize.js'
import type { Logger } from '../../src/lib/log.js'
import type { KubeObject } from '../../src/lib/manifests/yaml.js'
import { kubectl, repoRoot } from '../support/paths.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

const kustomize = resolveKustomize(kubectl)
/** A logger that keeps every line, to check that no secret reaches one. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const keep = (m: string) => void lines.push(m)
  return { lines, debug: keep, info: keep, warn: keep, error: keep }
}

const IMAGE = 'registry.example.com/platform/gitops-agent:1.2.3'
const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-not-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n'
const SECRETS = {
  identity: KEY,
  knownHosts:
    'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
  notify: 'https://hooks.slack.com/services/T000/B000/SECRETHOOK',
  statusToken: 'ghp_secretstatustoken0123456789',
}
const FULL: AgentManifestOptions = {
  image: IMAGE,
  namespace: 'agents',
  repository: 'git@github.com:acme/gitops.git',
  branch: 'main',
  paths: ['releases/staging', 'releases/shared'],
  pollInterval: '30s',
  syncInterval: '10m',
  prune: true,
  clusterName: 'staging',
  manifestGeneration: true,
  resources: { requests: { cpu: '250m' }, limits: { memory: '1Gi' } },
}

const find = (objects: KubeObject[], kind: string, name = 'gitops-agent'): any => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
  if (!found) throw new Error(`no ${kind}/${name}`)
  return found
}
const containerOf = (objects: KubeObject[]): any =>
  find(objects, 'Deployment').spec.template.spec.containers[0]

describe('an install with every option', () => {
  let objects: KubeObject[]
  let log: ReturnType<typeof recordingLogger>
  let overlaysBefore: string[]
  const overlays = () => readdirSync(tmpdir()).filter((f) => f.startsWith('gitops-overlay-'))

  beforeAll(async () => {
    log = recordingLogger()
    overlaysBefore = overlays()
    objects = await agentObjects(FULL, SECRETS, { log, kustomize })
  })

  test('the namespace: the base Namespace renamed, every namespaced object and subject in it', () => {
    expect(
      objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(),
    ).toEqual(
      [
        'ClusterRole//gitops-agent-agents',
        'ClusterRoleBinding//gitops-agent-agents',
        'Deployment/agents/gitops-agent',
        'Namespace//agents',
        'Role/agents/gitops-agent',
        'RoleBinding/agents/gitops-agent',
        'Secret/agents/gitops-agent-notify',
        'Secret/agents/gitops-agent-ssh',
        'Secret/agents/gitops-agent-status-token',
        'Service/agents/gitops-agent',
        'ServiceAccount/agents/gitops-agent',
      ].sort(),
    )
    for (const binding of objects.filter((o) => o.kind.endsWith('Binding')))
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'gitops-agent', namespace: 'agents' },
      ])
    // A second agent in another namespace never takes over this one's cluster-wide rights.
    expect(find(objects, 'ClusterRoleBinding', 'gitops-agent-agents').roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'gitops-agent-agents',
    })
    // The restricted Pod Security Standard of the base's Namespace is kept under its new name.
    expect(find(objects, 'Namespace', 'agents').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    })
    expect(JSON.stringify(objects)).not.toContain('gitops-system')
  })

  test('the image and the flags, which the agent reads back as meant', () => {
    const container = containerOf(objects)
    expect(container.image).toBe(IMAGE)
    expect(container.args).toEqual([
      '--git-url=git@github.com:acme/gitops.git',
      '--git-branch=main',
      '--git-path=releases/staging',
      '--git-path=releases/shared',
      '--git-poll-interval=30s',
      '--sync-interval=10m',
      '--sync-garbage-collection',
      '--manifest-generation',
      '--cluster-name=staging',
      '--notify=file:/etc/gitops/notify/urls',
      '--status-token=file:/etc/gitops/status-token/token',
      // The base's own flag, which the install does not set, is kept.
      '--listen=:8080',
    ])
    const config = parseConfig(
      container.args as string[],
      {},
      {
        namespace: 'agents',
        workDir: '/tmp/gitops-agent',
      },
    )
    expect(config).toMatchObject({
      gitUrl: 'git@github.com:acme/gitops.git',
      gitBranch: 'main',
      gitPaths: ['releases/staging', 'releases/shared'],
      gitPollIntervalMs: 30_000,
      syncIntervalMs: 600_000,
      gc: true,
      manifestGeneration: true,
      clusterName: 'staging',
      notify: { file: '/etc/gitops/notify/urls' },
      statuses: { token: { file: '/etc/gitops/status-token/token' }, provider: 'github' },
      listen: { port: 8080 },
    })
  })

  test('the Secrets the flags name are mounted beside the deploy key; resources merge into the base', () => {
    const deployment = find(objects, 'Deployment')
    const container = containerOf(objects)
    expect(deployment.spec.template.spec.volumes).toEqual(
      expect.arrayContaining([
        {
          name: 'ssh',
          secret: { secretName: 'gitops-agent-ssh', defaultMode: 0o440, optional: false },
        },
        { name: 'notify', secret: { secretName: 'gitops-agent-notify', defaultMode: 0o440 } },
        {
          name: 'status-token',
          secret: { secretName: 'gitops-agent-status-token', defaultMode: 0o440 },
        },
      ]),
    )
    expect(container.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'ssh', mountPath: '/etc/gitops/ssh', readOnly: true },
        { name: 'notify', mountPath: '/etc/gitops/notify', readOnly: true },
        { name: 'status-token', mountPath: '/etc/gitops/status-token', readOnly: true },
      ]),
    )
    expect(container.resources).toEqual({
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    })
    const decode = (o: any, key: string) => Buffer.from(o.data[key] as string, 'base64').toString()
    const ssh = find(objects, 'Secret', 'gitops-agent-ssh')
    expect(decode(ssh, 'identity')).toBe(KEY)
    expect(decode(ssh, 'known_hosts')).toBe(`${SECRETS.knownHosts}\n`)
    expect(decode(find(objects, 'Secret', 'gitops-agent-notify'), 'urls').trim()).toBe(
      SECRETS.notify,
    )
    expect(decode(find(objects, 'Secret', 'gitops-agent-status-token'), 'token').trim()).toBe(
      SECRETS.statusToken,
    )
  })

  test("every object carries the install's labels; pod template and selectors stay the base's", () => {
    for (const o of objects)
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'gitops-install',
        'gitops-actions.dev/install': 'agents',
        'app.kubernetes.io/name': 'gitops-agent',
      })
    const deployment = find(objects, 'Deployment')
    expect(deployment.spec.selector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'gitops-agent' },
    })
    expect(deployment.spec.template.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'gitops-agent',
      'app.kubernetes.io/part-of': 'gitops-actions',
    })
  })

  test('no secret value in the log; the overlay folder is gone', () => {
    const logged = log.lines.join('\n')
    expect(logged).toContain('--git-url=git@github.com:acme/gitops.git')
    for (const value of Object.values(SECRETS)) {
      expect(logged).not.toContain(value.trim())
      expect(logged).not.toContain(Buffer.from(value).toString('base64').slice(0, 20))
    }
    expect(overlays()).toEqual(overlaysBefore)
  })

  test('output files hold every object, Secrets without their values', async () => {
    const dir = join(tempDir('install-out-'), 'manifests')
    const files = await writeManifests(dir, objects)
    expect(files).toHaveLength(objects.length)
    expect(readdirSync(dir).sort()).toEqual([...files].sort())
    const all = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n')
    for (const value of Object.values(SECRETS)) {
      const base64 = Buffer.from(value.endsWith('\n') ? value : `${value}\n`).toString('base64')
      expect(all).not.toContain(value.trim())
      expect(all).not.toContain(base64.slice(0, 24))
    }
    expect(all).not.toMatch(/PRIVATE KEY|^\s*(data|stringData):/m)
    const ssh = readFileSync(join(dir, 'secret-gitops-agent-ssh.yaml'), 'utf8')
    expect(ssh).toMatch(/name: gitops-agent-ssh/)
    expect(ssh).toMatch(/namespace: agents/)
    // The objects given are left as they were (the apply still needs the values).
    expect(find(objects, 'Secret', 'gitops-agent-ssh').data).toBeDefined()
  })
})

test('the defaults: gitops-system, only the repository, no example path of the base', async () => {
  const objects = await renderAgentManifests(
    {
      image: 'ghcr.io/acme/gitops-agent@sha256:' + 'a'.repeat(64),
      repository: 'ssh://git@gitlab.example.com/ops/gitops.git',
    },
    { log: recordingLogger(), kustomize },
  )
  expect(find(objects, 'Namespace', 'gitops-system')).toBeDefined()
  // The base's names, as `kubectl apply -k deploy/` makes them.
  expect(find(objects, 'ClusterRoleBinding', 'gitops-agent').roleRef).toMatchObject({
    name: 'gitops-agent',
  })
  for (const o of objects.filter(
    (o) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind),
  ))
    expect(o.metadata.namespace).toBe('gitops-system')
  expect(objects.some((o) => o.kind === 'Secret')).toBe(false)
  const container = containerOf(objects)
  expect(container.image).toBe('ghcr.io/acme/gitops-agent@sha256:' + 'a'.repeat(64))
  expect(container.args).toEqual([
    '--git-url=ssh://git@gitlab.example.com/ops/gitops.git',
    '--listen=:8080',
  ])
  const volumes: { name: string }[] = find(objects, 'Deployment').spec.template.spec.volumes
  expect(volumes.map((v) => v.name).sort()).toEqual(['ssh', 'tmp'])
})

test('deploy/base is found from the source tree', () => {
  expect(deployBaseDir()).toBe(join(repoRoot, 'deploy', 'base'))
  expect(existsSync(join(deployBaseDir(), 'deployment.yaml'))).toBe(true)
})

test.each([
  [{ repository: 'https://github.com/acme/gitops.git' }, /^repository: .* is not an SSH URL/],
  [{ namespace: 'Gitops_System' }, /^namespace: 'Gitops_System' is not a namespace name/],
  [{ pollInterval: 'often' }, /^poll-interval: 'often' is not a duration/],
  [{ clusterName: 'a b' }, /^cluster-name: /],
  [{ paths: ['a,b'] }, /^paths: 'a,b'/],
  [{ resources: { limits: { memory: 'lots' } } }, /^resources: limits.memory 'lots'/],
  [{ image: 'Not An Image' }, /^image: 'Not An Image' is not an image reference/],
])('bad options are refused before kustomize runs: %j', async (bad, message) => {
  const error = await renderAgentManifests(
    { image: IMAGE, repository: 'git@github.com:acme/gitops.git', ...bad },
    { log: recordingLogger(), kustomize },
  ).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(ConfigurationError)
  expect((error as Error).message).toMatch(message)
})

test('a missing base is named', async () => {
  const error = await renderAgentManifests(
    { image: IMAGE, repository: 'git@github.com:acme/gitops.git' },
    { log: recordingLogger(), kustomize, baseDir: join(tempDir(), 'nowhere') },
  ).catch((e: unknown) => e)
  expect((error as Error).message).toMatch(/nowhere is not a folder/)
})
