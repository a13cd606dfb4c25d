// Jest globalTeardown of `npm run test:cluster`: stops the cluster (it removes its own data) and the
// kubeconfig folder.
import { rmSync } from 'node:fs'

export default async function globalTeardown() {
  const cluster = globalThis.__gitopsCluster
  if (!cluster) return
  cluster.child.kill('SIGTERM')
  let timer
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 30_000)))
  if ((await Promise.race([cluster.exited, timeout])) === 'timeout') cluster.child.kill('SIGKILL')
  clearTimeout(timer)
  rmSync(cluster.dir, { recursive: true, force: true })
}
