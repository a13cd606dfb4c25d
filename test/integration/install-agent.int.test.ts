/**
 * install-agent's core against the project's test API server and the test git host API: the first run
 * creates everything and registers one read-only deploy key; the second changes nothing; a rotation
 * registers the new key, updates the Secret, restarts the agent and deletes the old key last; without a
 * token the public key is printed with where to paste it; each bad input gives a clear error; and the
 * private key never reaches a log line, an output or a file of `output-dir`.
 */
import { generateKeyPairSync } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { installAgentCommand } from '../../src/commands/install-agent.js'
import {
  installAgent,
  waitForInstalledAgent,
  KEY_ANNOTATION,
  pasteInstructions,
  type InstallOptions,
  type InstallResult,
} from '../../src/lib/install/install.js'
import { generateSshKey } from '../../src/lib/install/ssh-key.js'
import { resolveKustomize } from '../../src/lib/kustomize/kustomize.js'
import type { Logger } from '../../src/lib/log.js'
import { startGitHostApi, type GitHostApi } from '../support/git-host-api.js'
import { runCli } from '../support/run-bundle.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { kubectl } from '../support/paths.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

const TOKEN = 'ghp-install-agent-42'
const PROJECT = 'acme/gitops'
const kustomize = resolveKustomize(kubectl)

let kube: KubeApiServer
let host: GitHostApi
let lines: string[]
const log: Logger = {
  debug: (m) => lines.push(`debug: ${m}`),
  info: (m) => lines.push(m),
  warn: (m) => lines.push(`warning: ${m}`),
  error: (m) => lines.push(`error: ${m}`),
}

beforeAll(async () => {
  kube = await startKubeApiServer()
  host = await startGitHostApi(TOKEN)
})
afterAll(async () => {
  await kube.stop()
  await host.close()
  cleanupTempDirs()
})
beforeEach(() => {
  lines = []
  host.requests.length = 0
  host.refuseDeployKeys(undefined)
})

function options(extra: Partial<InstallOptions> = {}): InstallOptions {
  return {
    kubeconfig: kube.kubeconfigPath,
    image: 'registry.example.com/platform/gitops-agent:1.2.3',
    namespace: 'agents',
    repository: `git@github.com:${PROJECT}.git`,
    branch: 'main',
    clusterName: 'staging',
    token: TOKEN,
    apiUrl: host.url,
    render: { kustomize },
    ...extra,
  }
}

const SECRET = { apiVersion: 'v1', kind: 'Secret', namespace: 'agents', name: 'gitops-agent-ssh' }
const DEPLOYMENT = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace: 'agents',
  name: 'gitops-agent',
}
const identity = () =>
  Buffer.from(kube.objects.get(SECRET)?.data.identity as string, 'base64').toString()
const keyBody = (publicKey: string) => publicKey.split(' ').slice(0, 2).join(' ')
const failure = (call: Promise<unknown>) =>
  call.then(
    () => {
      throw new Error('expected a failure')
    },
    (e: unknown) => e as Error,
  )

/** Waits until the workload controller has written the rollouts it owes. */
async function settled(): Promise<void> {
  for (let i = 0; kube.controllerBusy && i < 500; i++) await new Promise((r) => setTimeout(r, 10))
}

/** Nothing of the private key (nor any line of it) in the logs, the outputs or `dir`'s files. */
function expectNoPrivateKey(privateKey: string, result: InstallResult, dir?: string): void {
  const parts = privateKey.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----'))
  const seen = [
    lines.join('\n'),
    JSON.stringify(result),
    JSON.stringify(installAgentCommand.outputs(result)),
    installAgentCommand.summary(result),
    ...(dir ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')) : []),
  ].join('\n')
  expect(seen).not.toContain('PRIVATE KEY')
  for (const part of parts) expect(seen).not.toContain(part)
}

describe('installs in turn on one cluster', () => {
  let first: InstallResult

  test('the first creates everything and registers one read-only deploy key', async () => {
    const out = tempDir('gitops-install-out-')
    first = await installAgent(options({ outputDir: out }), log)
    expect(first.keyAction).toBe('generated')
    expect(first.unchanged).toBe(false)
    expect(first.changes).toEqual({ created: 10 - 1, configured: 0, unchanged: 0, pruned: 0 })
    expect(first.manifestsDir).toBe(out)
    expect(host.deployKeys).toEqual([
      expect.objectContaining({
        project: PROJECT,
        id: first.deployKeyId,
        title: 'gitops-agent staging/agents',
        readOnly: true,
      }),
    ])
    expect(keyBody(host.deployKeys[0].key)).toBe(keyBody(first.publicKey))
    expect(first.publicKey).toMatch(/^ssh-ed25519 AAAA\S+ gitops-agent@staging$/)
    // The Secret holds the key and GitHub's built-in host keys.
    expect(identity()).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/)
    const knownHosts = kube.objects.get(SECRET)?.data.known_hosts as string
    expect(Buffer.from(knownHosts, 'base64').toString()).toMatch(/^github\.com ssh-ed25519 /)
    expect(readdirSync(out).length).toBeGreaterThan(0)
    expectNoPrivateKey(identity(), first, out)
  })

  test('the second reuses the key and changes nothing', async () => {
    await settled()
    const version = kube.objects.resourceVersion()
    const second = await installAgent(options(), log)
    expect(second.keyAction).toBe('reused')
    expect(second.publicKey).toBe(first.publicKey)
    expect(second.deployKeyId).toBe(first.deployKeyId)
    expect(second.unchanged).toBe(true)
    expect(second.changes.unchanged).toBe(first.changes.created)
    expect(kube.objects.resourceVersion()).toBe(version)
    expect(host.requests.filter((r) => r.method !== 'GET')).toEqual([])
    expect(host.deployKeys).toHaveLength(1)
    expect(installAgentCommand.outputs(second)).toMatchObject({
      'public-key': first.publicKey,
      'deploy-key-id': String(first.deployKeyId),
      unchanged: 'true',
      'agent-ready': 'false',
    })
    expectNoPrivateKey(identity(), second)
  })

  test('rotate registers the new key, updates the Secret, restarts, and deletes the old key last', async () => {
    const oldIdentity = identity()
    const seenAtWait: string[] = []
    const rotated = await installAgent(
      options({
        rotateKey: true,
        // While the agent is awaited, both keys are registered and the Secret has the new one.
        wait: () => {
          seenAtWait.push(...host.deployKeys.map((k) => keyBody(k.key)), identity())
          return Promise.resolve({ ready: true, syncedCommit: 'abc123', units: [] })
        },
      }),
      log,
    )
    expect(rotated.keyAction).toBe('rotated')
    expect(rotated.unchanged).toBe(false)
    expect(rotated.restarted).toBe(true)
    expect(rotated.publicKey).not.toBe(first.publicKey)
    expect(seenAtWait.slice(0, 2)).toEqual([keyBody(first.publicKey), keyBody(rotated.publicKey)])
    expect(seenAtWait[2]).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/)
    expect(seenAtWait[2]).not.toBe(oldIdentity)
    expect(identity()).not.toBe(oldIdentity)
    expect(host.deployKeys).toEqual([
      expect.objectContaining({ id: rotated.deployKeyId, readOnly: true }),
    ])
    const writes = host.requests.filter((r) => r.method !== 'GET').map((r) => r.method)
    expect(writes).toEqual(['POST', 'DELETE'])
    const template = kube.objects.get(DEPLOYMENT)?.spec.template as {
      metadata: { annotations?: Record<string, string> }
    }
    expect(template.metadata.annotations?.[KEY_ANNOTATION]).toBe(rotated.fingerprint)
    expect(installAgentCommand.outputs(rotated)).toMatchObject({
      'agent-ready': 'true',
      'synced-commit': 'abc123',
    })
    expectNoPrivateKey(identity(), rotated)
    expectNoPrivateKey(oldIdentity, rotated)

    // And the run after it changes nothing either.
    await settled()
    const after = await installAgent(options(), log)
    expect(after.unchanged).toBe(true)
    expect(after.publicKey).toBe(rotated.publicKey)
  })

  test('a dry run registers nothing and writes nothing, but renders the manifests', async () => {
    await settled()
    const version = kube.objects.resourceVersion()
    const out = tempDir('gitops-install-dry-')
    const result = await installAgent(
      options({ dryRun: true, rotateKey: true, outputDir: out }),
      log,
    )
    expect(result.dryRun).toBe(true)
    expect(result.deployKeyId).toBeUndefined()
    expect(host.requests.filter((r) => r.method !== 'GET')).toEqual([])
    expect(kube.objects.resourceVersion()).toBe(version)
    expect(readdirSync(out).some((f) => /deployment/i.test(f))).toBe(true)
  })
})

describe('without a token', () => {
  test('the public key is printed with where to paste it, read-only', async () => {
    const result = await installAgent(
      options({ token: undefined, namespace: 'tokenless', sshKey: undefined }),
      log,
    )
    expect(result.deployKeyId).toBeUndefined()
    const text = lines.join('\n')
    expect(text).toContain(result.publicKey)
    expect(text).toContain(`https://github.com/${PROJECT}/settings/keys/new`)
    expect(text).toContain('"Allow write access" unchecked')
    expect(host.requests).toEqual([])
  })

  test('GitLab: Settings > Repository > Deploy keys', () => {
    const key = generateSshKey('x')
    const text = pasteInstructions('gitlab', 'git@gitlab.example.com:acme/gitops.git', PROJECT, key)
    expect(text).toContain('https://gitlab.example.com/acme/gitops/-/settings/repository')
    expect(text).toContain('Settings > Repository > Deploy keys')
    expect(text).toContain(key.publicKey)
  })
})

describe('bad input', () => {
  test('wait: an agent that does not sync in time is an error saying why; a rotated key keeps the old one', async () => {
    await installAgent(options({ namespace: 'waits', deployKeyTitle: 'waits' }), log)
    const keysBefore = host.deployKeys.map((k) => keyBody(k.key))
    const error = await failure(
      installAgent(
        options({
          namespace: 'waits',
          deployKeyTitle: 'waits',
          rotateKey: true,
          wait: waitForInstalledAgent,
          timeoutMs: 1500,
        }),
        log,
      ),
    )
    expect(error.message).toMatch(
      /^install: the agent is not ready after 2s: .+ \(namespace waits; a longer 'timeout'/,
    )
    // The old key stays registered beside the new one: the agent may still be using it.
    expect(host.requests.filter((r) => r.method === 'DELETE')).toEqual([])
    for (const key of keysBefore) expect(host.deployKeys.map((k) => keyBody(k.key))).toContain(key)
  })

  test('a repository URL that is not SSH', async () => {
    const error = await failure(
      installAgent(options({ repository: `https://github.com/${PROJECT}.git` }), log),
    )
    expect(error.message).toMatch(/^repository: '.*' is not an SSH URL \(git@host:owner/)
  })

  test('no API server reachable (the kubeconfig given as its content)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number }
        s.close(() => resolve(port))
      })
    })
    const kubeconfig = readFileSync(kube.kubeconfigPath, 'utf8').replace(
      /server: \S+/,
      `server: https://127.0.0.1:${port}`,
    )
    const error = await failure(installAgent(options({ kubeconfig }), log))
    expect(error.message).toMatch(
      new RegExp(`^install: no Kubernetes cluster reachable at https://127\\.0\\.0\\.1:${port}`),
    )
    expect(error.message).toContain('Check the kubeconfig')
  })

  test('a key that is neither ed25519 nor RSA', async () => {
    const ecdsa = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'sec1', format: 'pem' })
      .toString()
    const error = await failure(installAgent(options({ sshKey: ecdsa, namespace: 'ec' }), log))
    expect(error.message).toMatch(/ECDSA key: only ed25519 and RSA keys/)
    expect(error.message).not.toContain('PRIVATE KEY')
  })

  test('a token without admin on the repository', async () => {
    host.refuseDeployKeys(403)
    const error = await failure(installAgent(options({ namespace: 'refused' }), log))
    expect(error.message).toMatch(/^install: cannot register the deploy key on acme\/gitops: /)
    expect(error.message).toContain('needs admin on the repository')
    // Nothing was applied before the key was registered.
    expect(kube.objects.get({ ...SECRET, namespace: 'refused' })).toBeUndefined()
  })

  test('a host other than github.com without known-hosts', async () => {
    const error = await failure(
      installAgent(
        options({ repository: 'git@git.example.com:acme/gitops.git', namespace: 'other' }),
        log,
      ),
    )
    expect(error.message).toMatch(/^known-hosts: required for git@git\.example\.com/)
  })
})

describe('the CLI bundle', () => {
  test('--help lists the inputs', async () => {
    const r = await runCli(['install-agent', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: gitops-actions install-agent')
    for (const input of ['--kubeconfig', '--repository', '--rotate-key', '--deploy-key-title'])
      expect(r.stdout).toContain(input)
  })

  test('installs with the kubeconfig as content, prints outputs, never the key', async () => {
    const kubeconfig = readFileSync(kube.kubeconfigPath, 'utf8')
    const runnerTemp = tempDir('gitops-runner-temp-')
    const r = await runCli(
      [
        'install-agent',
        '--repository',
        `git@github.com:${PROJECT}.git`,
        '--namespace',
        'from-cli',
        '--cluster-name',
        'cli',
        '--token',
        TOKEN,
        '--api-url',
        host.url,
      ],
      {
        env: { GITOPS_KUBECONFIG: kubeconfig, GITOPS_KUSTOMIZE: kubectl, RUNNER_TEMP: runnerTemp },
      },
    )
    expect(r.stderr).not.toContain('gitops-actions install-agent:')
    expect(r.code).toBe(0)
    expect(r.outputs['public-key']).toMatch(/^ssh-ed25519 AAAA\S+ gitops-agent@cli$/)
    expect(r.outputs['deploy-key-id']).toMatch(/^\d+$/)
    expect(r.outputs.unchanged).toBe('false')
    const secret = kube.objects.get({ ...SECRET, namespace: 'from-cli' })
    const privateKey = Buffer.from(secret?.data.identity as string, 'base64').toString()
    const printed = r.stdout + r.stderr
    expect(printed).not.toContain('PRIVATE KEY')
    for (const line of privateKey.split('\n').filter((l) => l.length > 8 && !l.startsWith('---')))
      expect(printed).not.toContain(line)
    // The kubeconfig's content was kept in the run's temp folder, and removed with it.
    expect(readdirSync(runnerTemp)).toEqual([])
  })
})
