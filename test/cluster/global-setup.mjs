// Jest globalSetup of `npm run test:cluster`: builds the control plane binary (cached) and starts one cluster
// for the whole run. Test files read it from GITOPS_TEST_KUBECONFIG (see support.ts) and keep to their own
// namespaces.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildCluster, startClusterProcess } from '../../scripts/cluster.mjs'

export default async function globalSetup() {
  const binary = buildCluster()
  const dir = mkdtempSync(join(tmpdir(), 'gitops-cluster-test-'))
  const started = Date.now()
  const cluster = startClusterProcess({ binary, kubeconfig: join(dir, 'kubeconfig') })
  const ready = await cluster.ready
  console.error(
    `\ncluster: ready in ${Date.now() - started}ms at ${ready.server} (nodes: ${ready.nodes.join(', ')})`,
  )
  process.env.GITOPS_TEST_KUBECONFIG = ready.kubeconfig
  process.env.GITOPS_TEST_SERVER = ready.server
  globalThis.__gitopsCluster = { ...cluster, dir }
}
