// The agent's install base (deploy/, through the example overlay) on a real control plane: applied with
// strict field validation, admitted under the restricted Pod Security Standard its namespace enforces,
// and rolled out by the real controllers onto kwok's nodes.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { kubectl as kubectlPath } from '../support/paths.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'
import { describeCluster, eventually, getObject, kubectl } from './support.js'

afterAll(cleanupTempDirs)

describeCluster('deploy/', () => {
  test('the example overlay applies with --validate=strict, passes Pod Security, and rolls out', async () => {
    const rendered = execFileSync(kubectlPath, ['kustomize', 'deploy/examples'], {
      encoding: 'utf8',
    })
    const file = join(tempDir('gitops-deploy-'), 'install.yaml')
    writeFileSync(file, rendered)
    // The Secrets the base expects are made by hand, outside git.
    await kubectl('apply', '--server-side', '-f', join('deploy', 'base', 'namespace.yaml'))
    for (const [name, keys] of [
      ['gitops-agent-ssh', ['--from-literal=identity=not-a-key', '--from-literal=known_hosts=x']],
      ['gitops-agent-notify', ['--from-literal=urls=https://example.com/hook']],
    ] as const) {
      await kubectl('create', 'secret', 'generic', name, '-n', 'gitops-system', ...keys)
    }
    const out = await kubectl(
      'apply',
      '--server-side',
      '--validate=strict',
      '--field-manager=install',
      '-f',
      file,
    )
    expect(out).toMatch(/deployment\.apps\/gitops-agent serverside-applied/)
    expect(out).toMatch(/clusterrolebinding\.rbac\.authorization\.k8s\.io\/gitops-agent/)

    // The ReplicaSet's pod is admitted only if it meets the restricted standard; kwok then runs it.
    const deployment = await eventually(
      'the agent Deployment to be available',
      async () => {
        const d = await getObject('deployment', 'gitops-agent', 'gitops-system')
        return d?.status?.availableReplicas === 1 ? d : undefined
      },
      60_000,
    )
    expect(deployment.spec.template.spec.containers[0].args).toContain(
      '--git-url=git@github.com:acme/gitops.git',
    )
    // The namespace's standard is enforced: a pod without the base's security settings is refused.
    await expect(
      kubectl('run', 'loose', '-n', 'gitops-system', '--image=busybox', '--dry-run=server'),
    ).rejects.toThrow(/violates PodSecurity "restricted:latest"/)
    const again = await kubectl(
      'apply',
      '--server-side',
      '--validate=strict',
      '--field-manager=install',
      '-f',
      file,
    )
    expect(again).not.toMatch(/configured/)
  }, 120_000)
})
