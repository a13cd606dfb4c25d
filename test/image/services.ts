/**
 * What scripts/test-image.sh runs the image against, on the host's loopback: the project's test
 * Kubernetes API server and a real sshd that serves git to one read-only deploy key. Bundled with ncc
 * and started by test/image/start-services.mjs:
 *
 *   node test/image/start-services.mjs OUT_DIR
 *
 * writes OUT_DIR/kubeconfig (readable by the container's non-root user), OUT_DIR/ssh/identity and
 * OUT_DIR/ssh/known_hosts (the Secret `gitops-agent-ssh` of the Deployment), prints
 * `ready <api-url> <ssh-url-prefix>` and runs until SIGTERM or SIGINT.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startKubeApiServer } from '../support/kube-api/index.js'
import { generateSshKey, startSshd } from '../support/sshd.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

const out = process.argv[2]
if (!out) {
  console.error('usage: node test/image/start-services.mjs OUT_DIR')
  process.exit(2)
}

const server = await startKubeApiServer({
  namespaces: ['default', 'kube-system', 'gitops-system'],
  requireToken: true,
  rolloutDelayMs: 50,
})
// The container runs as uid 10001: the mounted kubeconfig must be readable by it.
copyFileSync(server.kubeconfigPath, join(out, 'kubeconfig'))
chmodSync(join(out, 'kubeconfig'), 0o644)

const key = await generateSshKey(tempDir('image-test-key-'), 'identity')
const sshd = await startSshd({ readOnlyKeys: [key.publicKey] })
mkdirSync(join(out, 'ssh'), { recursive: true })
writeFileSync(join(out, 'ssh', 'identity'), key.privateKey)
writeFileSync(join(out, 'ssh', 'known_hosts'), `${sshd.hostKeyLine}\n`)

console.log(`ready ${server.url} ${sshd.url('/')}`)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await Promise.allSettled([server.stop(), sshd.stop()])
  cleanupTempDirs()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
// Keep the event loop alive when no client is connected.
setInterval(() => {}, 1 << 30)
