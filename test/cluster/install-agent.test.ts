// install-agent's core on a real control plane: the objects it applies pass strict field validation and
// the restricted Pod Security Standard their namespace enforces, the Deployment rolls out onto kwok's
// nodes, and the agent run with the Deployment's own args and the Secret's key (as the pod mounts them)
// clones over SSH from a test sshd and syncs a published release. A second install changes nothing, and
// its `wait` reports the commit the agent synced.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  installAgent,
  waitForInstalledAgent,
  type InstallOptions,
} from '../../src/lib/install/install.js'
import { publishRelease } from '../../src/lib/gitops/publish.js'
import { resolveKustomize } from '../../src/lib/kustomize/kustomize.js'
import type { Logger } from '../../src/lib/log.js'
import { silentLogger } from '../../src/lib/log.js'
import { bareRemote, remoteHead } from '../support/git.js'
import { kubectl as kubectlPath } from '../support/paths.js'
import { runNode } from '../support/run-bundle.js'
import { startSshd, type SshServer } from '../support/sshd.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'
import {
  clusterCredentials,
  clusterKubeconfig,
  describeCluster,
  eventually,
  expectExit,
  getObject,
  kubectl,
  uniqueName,
} from './support.js'

let sshd: SshServer | undefined
afterAll(async () => {
  await sshd?.stop()
  cleanupTempDirs()
})

const lines: string[] = []
const log: Logger = {
  debug: () => undefined,
  info: (m) => lines.push(m),
  warn: (m) => lines.push(`warning: ${m}`),
  error: (m) => lines.push(`error: ${m}`),
}

/** A release of one app: its own namespace and a ConfigMap the agent must bring to the cluster. */
function releaseManifests(apps: string): string {
  const dir = join(tempDir('gitops-release-'), 'manifests')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'namespace.yaml'),
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${apps}\n`,
  )
  writeFileSync(
    join(dir, 'configmap-settings.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${apps}\ndata:\n  color: blue\n`,
  )
  return dir
}

/**
 * The files the pod would see: each Secret volume of the Deployment written under `root` at its mount
 * path, and the args with those mount paths moved under `root`. The agent reads its key and known_hosts
 * from the ssh mount by default, so those two flags are made explicit.
 */
async function podFiles(
  deployment: any,
  namespace: string,
  root: string,
): Promise<{ args: string[]; sshMount: string }> {
  const pod = deployment.spec.template.spec as PodSpec
  const container = pod.containers[0]
  const secretOf = new Map(
    pod.volumes.flatMap((v) => (v.secret ? [[v.name, v.secret.secretName] as const] : [])),
  )
  let args = container.args
  let sshMount = ''
  for (const mount of container.volumeMounts) {
    const secretName = secretOf.get(mount.name)
    if (!secretName) continue
    const secret = await getObject('secret', secretName, namespace)
    const dir = join(root, mount.mountPath)
    mkdirSync(dir, { recursive: true })
    const data = (secret.data ?? {}) as Record<string, string>
    for (const [key, value] of Object.entries(data))
      writeFileSync(join(dir, key), Buffer.from(value, 'base64'), { mode: 0o600 })
    args = args.map((a) => a.split(`${mount.mountPath}/`).join(`${dir}/`))
    if (secretName === 'gitops-agent-ssh') sshMount = dir
  }
  return { args, sshMount }
}

/** What of a pod spec the agent's files come from. */
interface PodSpec {
  containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[]
  volumes: { name: string; secret?: { secretName: string } }[]
}

/**
 * A kubeconfig as the agent's ServiceAccount (a token from the TokenRequest API), so that the agent
 * runs with the rights the install gave its pod, not the admin's.
 */
async function serviceAccountKubeconfig(namespace: string, dir: string): Promise<string> {
  const token = (
    await kubectl('create', 'token', 'gitops-agent', `--namespace=${namespace}`, '--duration=1h')
  ).trim()
  const { server, ca } = clusterCredentials()
  const path = join(dir, 'kubeconfig')
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'kwok',
          cluster: { server: server.origin, 'certificate-authority-data': ca.toString('base64') },
        },
      ],
      users: [{ name: 'agent', user: { token } }],
      contexts: [{ name: 'agent', context: { cluster: 'kwok', user: 'agent', namespace } }],
      'current-context': 'agent',
    }),
    { mode: 0o600 },
  )
  return path
}

describeCluster('install-agent on a real cluster', () => {
  test('applies strict-valid, restricted-admitted objects that roll out; the agent with their args and key syncs over SSH; a second run changes nothing and its wait reports the synced commit', async () => {
    const namespace = uniqueName('gitops-install')
    const apps = uniqueName('apps')
    const remote = bareRemote()
    sshd = await startSshd()
    const repository = sshd.url(remote.path)

    // A published release waits in the gitops repo.
    const published = await publishRelease(
      {
        repository: remote.url,
        auth: {},
        env: 'staging',
        app: 'settings',
        manifests: releaseManifests(apps),
        version: '1.0.0',
        source: { repo: 'https://github.com/acme/settings', commit: 'a'.repeat(40) },
        releasedBy: 'alice',
        author: { name: 'gitops-actions[bot]', email: 'bot@example.com' },
        mode: 'push',
        force: false,
        allowSecrets: false,
        retire: false,
        dryRun: false,
        maxAttempts: 5,
      },
      silentLogger,
    )
    expect(published.commit).toBe(remoteHead(remote))

    const outputDir = tempDir('gitops-install-out-')
    const options: InstallOptions = {
      kubeconfig: clusterKubeconfig(),
      image: 'ghcr.io/gitops-actions/gitops-agent:test',
      namespace,
      repository,
      branch: 'main',
      paths: ['releases/staging'],
      clusterName: 'kwok',
      knownHosts: `${sshd.hostKeyLine}\n`,
      outputDir,
      render: { kustomize: resolveKustomize(kubectlPath) },
    }
    const first = await installAgent(options, log)
    expect(first.keyAction).toBe('generated')
    expect(first.changes.created).toBeGreaterThan(0)
    // No token: the public key is printed, with where to paste it.
    expect(lines.join('\n')).toContain(first.publicKey)
    expect(lines.join('\n')).not.toContain('PRIVATE KEY')

    // What was applied passes strict field validation on the real API server.
    const strict = await kubectl(
      'apply',
      '--server-side',
      '--dry-run=server',
      '--validate=strict',
      '--field-manager=gitops-install',
      '-R',
      '-f',
      outputDir,
    )
    expect(strict).toMatch(/deployment\.apps\/gitops-agent serverside-applied \(server dry run\)/)
    // Every object the install applied is among them (the Secrets written without their values).
    expect(strict.match(/serverside-applied \(server dry run\)/g)).toHaveLength(
      first.objects.length,
    )

    // The namespace enforces the restricted standard, and the agent's pod is admitted under it.
    const ns = await getObject('namespace', namespace)
    expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' })
    await expect(
      kubectl('run', 'loose', '-n', namespace, '--image=busybox', '--dry-run=server'),
    ).rejects.toThrow(/violates PodSecurity "restricted:latest"/)
    const deployment = await eventually(
      'the agent Deployment to be available',
      async () => {
        const d = await getObject('deployment', 'gitops-agent', namespace)
        return d?.status?.availableReplicas === 1 ? d : undefined
      },
      60_000,
    )
    const pods = JSON.parse(
      await kubectl(
        'get',
        'pods',
        `--namespace=${namespace}`,
        '--selector=app.kubernetes.io/name=gitops-agent',
        '-o',
        'json',
      ),
    ).items
    expect(pods).toHaveLength(1)
    expect(pods[0].spec.nodeName).toMatch(/^kwok-node-/)

    // The agent, with the Deployment's args, the Secret's files and its ServiceAccount's rights, reads
    // the repo with the printed key.
    sshd.authorize(first.publicKey)
    const root = tempDir('gitops-pod-')
    const { args, sshMount } = await podFiles(deployment, namespace, root)
    expect(args).toContain(`--git-url=${repository}`)
    const run = await runNode('agent', [
      ...args.filter((a) => !a.startsWith('--listen')), // the pod's port, not this machine's
      '--once',
      '--listen=off',
      `--ssh-key=${join(sshMount, 'identity')}`,
      `--known-hosts=${join(sshMount, 'known_hosts')}`,
      `--kubeconfig=${await serviceAccountKubeconfig(namespace, root)}`,
      `--namespace=${namespace}`,
      '--log-format=text',
      `--work-dir=${join(root, 'tmp', 'gitops-agent')}`,
      '--health-timeout=60s',
    ])
    expectExit(run, 0)
    expect(run.stdout).toMatch(/unit=releases\/staging\/settings status=synced/)
    // It cloned over SSH with the installed key (sshd logs the key's fingerprint it accepted).
    expect(readFileSync(sshd.logPath, 'utf8')).toContain(
      `Accepted publickey for root from 127.0.0.1`,
    )
    expect(readFileSync(sshd.logPath, 'utf8')).toContain(first.fingerprint)
    const synced = await getObject('configmap', 'settings', apps)
    expect(synced.data).toEqual({ color: 'blue' })

    // A second install with the same inputs reuses the Secret's key and changes nothing; its `wait`
    // reads the agent's sync of the published commit from the cluster.
    lines.length = 0
    const second = await installAgent(
      { ...options, outputDir: undefined, wait: waitForInstalledAgent, timeoutMs: 60_000 },
      log,
    )
    expect(second.wait).toMatchObject({
      ready: true,
      syncedCommit: published.commit,
      agentVersion: 'test',
      units: ['releases/staging/settings'],
    })
    expect(second.keyAction).toBe('reused')
    expect(second.publicKey).toBe(first.publicKey)
    expect(second.unchanged).toBe(true)
    expect(second.changes.created + second.changes.configured + second.changes.pruned).toBe(0)
  }, 240_000)
})
