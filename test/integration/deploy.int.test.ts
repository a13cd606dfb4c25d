/**
 * The agent's install (deploy/): the example overlay rendered by the real kustomize (the pinned kubectl)
 * keeps what the base promises once a user's patch and image override are in, and `kubectl apply
 * --server-side -k` of it lands on the project's test API server.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { dist, kubectl, repoRoot } from '../support/paths.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** The pinned kubectl with its own cache and HOME (nothing of the user's). */
function kc(args: string[], server?: KubeApiServer): Promise<Run> {
  const home = tempDir('deploy-kubectl-')
  const argv = server
    ? ['--kubeconfig', server.kubeconfigPath, '--cache-dir', join(home, 'cache'), ...args]
    : args
  return run(kubectl, argv, { PATH: process.env.PATH, HOME: home })
}

/** A rendered object: what the tests name, and anything else to poke into. */
interface Obj {
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  [field: string]: any
}

interface Volume {
  name: string
  secret?: Record<string, unknown>
  emptyDir?: Record<string, unknown>
}

/** Objects of a multi-document YAML stream, read with YAML 1.1 rules as kubectl reads them. */
function objects(text: string): Obj[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null)
}

/** The one object of `kind` (fails the test when there is none). */
function one(list: Obj[], kind: string): Obj {
  const found = list.find((o) => o.kind === kind)
  if (!found) throw new Error(`no ${kind} in the output`)
  return found
}

const deployDir = join(repoRoot, 'deploy')
const LABELS = {
  'app.kubernetes.io/name': 'gitops-agent',
  'app.kubernetes.io/part-of': 'gitops-actions',
}

/** The flags of a container's args, without values: `--git-url=…` is `--git-url`. */
const flagsOf = (args: string[]) => args.map((a) => a.replace(/=.*$/, ''))

describe('deploy/examples rendered by kustomize', () => {
  let rendered: Obj[]
  let deployment: any
  let container: any
  let volumes: Volume[]
  let args: string[]

  beforeAll(async () => {
    const r = await kc(['kustomize', join(deployDir, 'examples')])
    expect(r.stderr).toBe('') // no deprecation warnings either
    expect(r.code).toBe(0)
    rendered = objects(r.stdout)
    deployment = one(rendered, 'Deployment')
    container = deployment.spec.template.spec.containers[0]
    volumes = deployment.spec.template.spec.volumes
    args = container.args
  })

  test('holds the base: namespace, service account, RBAC, Deployment, metrics Service', () => {
    expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ClusterRole/gitops-agent',
        'ClusterRoleBinding/gitops-agent',
        'Deployment/gitops-agent',
        'Namespace/gitops-system',
        'Role/gitops-agent',
        'RoleBinding/gitops-agent',
        'Service/gitops-agent',
        'ServiceAccount/gitops-agent',
      ].sort(),
    )
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding']
    for (const o of rendered)
      expect(o.metadata.namespace).toBe(
        clusterScoped.includes(o.kind) ? undefined : 'gitops-system',
      )
    const clusterRole = one(rendered, 'ClusterRole')
    expect(clusterRole.rules).toContainEqual({
      apiGroups: ['*'],
      resources: ['*'],
      verbs: ['*'],
    })
    for (const binding of rendered.filter((o) => o.kind.endsWith('Binding')))
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'gitops-agent', namespace: 'gitops-system' },
      ])
    const roleRules: { resources: string[] }[] = one(rendered, 'Role').rules
    expect(roleRules.flatMap((r) => r.resources).sort()).toEqual(['configmaps', 'events', 'leases'])
  })

  test("the user's patch and image override took", () => {
    expect(args).toEqual([
      '--git-url=git@github.com:acme/gitops.git',
      '--git-branch=main',
      '--git-path=releases/staging',
      '--sync-garbage-collection',
      '--cluster-name=staging',
      '--notify=file:/etc/gitops/notify/urls',
      '--listen=:8080',
    ])
    expect(container.image).toBe('registry.example.com/platform/gitops-agent:1.0.0')
    // Merged by name: the notify Secret beside the base's SSH Secret and /tmp.
    expect(volumes.map((v) => v.name).sort()).toEqual(['notify', 'ssh', 'tmp'])
    expect(volumes.find((v) => v.name === 'notify')?.secret).toMatchObject({
      secretName: 'gitops-agent-notify',
      defaultMode: 0o440,
    })
    expect(container.volumeMounts).toContainEqual({
      name: 'notify',
      mountPath: '/etc/gitops/notify',
      readOnly: true,
    })
  })

  test('every flag the base and the example pass is one the agent knows', async () => {
    const help = await run(process.execPath, [dist('agent'), '--help'])
    expect(help.code).toBe(0)
    const known = new Set(help.stdout.match(/^ {2}--[a-z-]+/gm)?.map((f) => f.trim()))
    const base = await kc(['kustomize', join(deployDir, 'base')])
    const baseArgs: string[] = one(objects(base.stdout), 'Deployment').spec.template.spec
      .containers[0].args
    for (const flag of flagsOf([...baseArgs, ...args])) expect(known).toContain(flag)
  })

  test('the security settings, probes, resources and SSH mount of the base are kept', () => {
    const pod = deployment.spec.template.spec
    expect(deployment.spec.replicas).toBe(1)
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' })
    expect(pod.serviceAccountName).toBe('gitops-agent')
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    })
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    })
    expect(container.ports).toEqual([
      { name: 'http-metrics', containerPort: 8080, protocol: 'TCP' },
    ])
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' })
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' })
    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '512Mi' },
    })
    expect(container.env).toContainEqual({
      name: 'POD_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    })
    expect(volumes.find((v) => v.name === 'ssh')?.secret).toEqual({
      secretName: 'gitops-agent-ssh',
      defaultMode: 0o440,
      optional: false,
    })
    expect(volumes.find((v) => v.name === 'tmp')).toEqual({ name: 'tmp', emptyDir: {} })
    expect(container.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'ssh', mountPath: '/etc/gitops/ssh', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ]),
    )
  })

  test('no Secret and no key material in the output', () => {
    expect(rendered.filter((o) => o.kind === 'Secret')).toEqual([])
    const text = JSON.stringify(rendered)
    expect(text).not.toMatch(/PRIVATE KEY|ssh-(ed25519|rsa) AAAA|ecdsa-sha2/)
  })

  test('every object and the pod template are labelled; selectors are only the stable name', () => {
    for (const o of rendered) expect(o.metadata.labels).toMatchObject(LABELS)
    expect(deployment.spec.template.metadata.labels).toMatchObject(LABELS)
    expect(deployment.spec.selector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'gitops-agent' },
    })
    const service = one(rendered, 'Service')
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'gitops-agent' })
    expect(service.spec.ports).toEqual([
      { name: 'http-metrics', port: 8080, targetPort: 'http-metrics', protocol: 'TCP' },
    ])
  })

  test('deploy/ itself (the remote install) is the base', async () => {
    const [top, base] = await Promise.all([
      kc(['kustomize', deployDir]),
      kc(['kustomize', join(deployDir, 'base')]),
    ])
    expect(top.code).toBe(0)
    expect(top.stdout).toBe(base.stdout)
    const args: string[] = one(objects(top.stdout), 'Deployment').spec.template.spec.containers[0]
      .args
    expect(args).toContain('--listen=:8080')
    expect(args.some((a) => a.startsWith('--git-url='))).toBe(true)
  })
})

describe('deploy/examples applied to the test API server', () => {
  let server: KubeApiServer

  beforeAll(async () => {
    server = await startKubeApiServer() // without gitops-system: the install brings it
  })
  afterAll(() => server.stop())

  test('kubectl apply --server-side -k creates every object; a second apply changes nothing', async () => {
    const apply = ['apply', '--server-side', '--validate=false', '-k', join(deployDir, 'examples')]
    const r = await kc(apply, server)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(8)
    const get = (apiVersion: string, kind: string, name: string, namespace?: string) =>
      server.objects.get({ apiVersion, kind, name, namespace })
    const deployment = get('apps/v1', 'Deployment', 'gitops-agent', 'gitops-system')
    expect(deployment?.spec.template.spec.containers[0].image).toBe(
      'registry.example.com/platform/gitops-agent:1.0.0',
    )
    expect(deployment?.spec.template.spec.volumes).toContainEqual({
      name: 'ssh',
      secret: { secretName: 'gitops-agent-ssh', defaultMode: 288, optional: false },
    })
    expect(get('v1', 'ServiceAccount', 'gitops-agent', 'gitops-system')).toBeDefined()
    expect(get('v1', 'Service', 'gitops-agent', 'gitops-system')).toBeDefined()
    expect(
      get('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'gitops-agent')?.roleRef,
    ).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'gitops-agent' })
    expect(get('rbac.authorization.k8s.io/v1', 'ClusterRole', 'gitops-agent')).toBeDefined()
    expect(
      get('rbac.authorization.k8s.io/v1', 'Role', 'gitops-agent', 'gitops-system'),
    ).toBeDefined()
    expect(
      get('rbac.authorization.k8s.io/v1', 'RoleBinding', 'gitops-agent', 'gitops-system'),
    ).toBeDefined()
    expect(get('v1', 'Namespace', 'gitops-system')?.metadata?.labels).toMatchObject(LABELS)

    // The test server's workload controller writes the Deployment's status after the apply.
    for (let i = 0; server.controllerBusy && i < 500; i++)
      await new Promise((r) => setTimeout(r, 10))
    const version = server.objects.resourceVersion()
    const again = await kc(apply, server)
    expect(again.code).toBe(0)
    expect(server.objects.resourceVersion()).toBe(version)
  }, 60000)
})
