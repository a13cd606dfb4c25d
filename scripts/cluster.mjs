#!/usr/bin/env node
// The real control plane of test/cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok in one Go binary), for `npm run test:cluster` and by hand:
//
//   node scripts/cluster.mjs build                   builds (or finds) the binary, prints its path
//   node scripts/cluster.mjs start [--kubeconfig F]  runs a cluster until Ctrl-C; prints its ready line
//
// The binary is cached in .tools/cluster/<hash of go.mod, go.sum, *.go and the build flags>/cluster, so
// a rebuild happens only when the Go side changed. Go's module and build caches stay where Go keeps them.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'test', 'cluster')

/** The go command: on PATH, or where the Go tarball installs it. */
export function goCommand() {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go')
  }
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go'
  throw new Error('cluster: Go is needed to build test/cluster (https://go.dev/doc/install)')
}

/** ldflags: the version the API server reports (/version, kubectl version) is the pinned release's. */
function ldflags() {
  const gomod = readFileSync(join(source, 'go.mod'), 'utf8')
  const m = /^\s*k8s\.io\/kubernetes (v(\d+)\.(\d+)\.\d+)\s*$/m.exec(gomod)
  if (!m) throw new Error('cluster: test/cluster/go.mod does not require k8s.io/kubernetes')
  const pkg = 'k8s.io/component-base/version'
  return [
    '-s',
    '-w',
    `-X ${pkg}.gitVersion=${m[1]}`,
    `-X ${pkg}.gitMajor=${m[2]}`,
    `-X ${pkg}.gitMinor=${m[3]}`,
  ].join(' ')
}

/** Where the binary for the current sources lives (it may not be built yet). */
export function clusterBinaryPath() {
  const hash = createHash('sha256')
  const files = [
    'go.mod',
    'go.sum',
    ...readdirSync(source)
      .filter((f) => f.endsWith('.go'))
      .sort(),
  ]
  for (const file of files) {
    hash.update(`${file}\0`)
    hash.update(readFileSync(join(source, file)))
  }
  hash.update(ldflags())
  return join(root, '.tools', 'cluster', hash.digest('hex').slice(0, 16), 'cluster')
}

/** Builds the binary unless the cache has it; returns its path. */
export function buildCluster({ log = (/** @type {string} */ m) => console.error(m) } = {}) {
  const binary = clusterBinaryPath()
  if (existsSync(binary)) return binary
  mkdirSync(dirname(binary), { recursive: true })
  const started = Date.now()
  log(`cluster: building ${binary} (the first build downloads and compiles Kubernetes: minutes)`)
  const partial = `${binary}.partial`
  const build = [goCommand(), 'build', '-ldflags', ldflags(), '-o', partial, '.']
  // At low priority: the build takes both cores for minutes the first time.
  const [command, ...args] = existsSync('/usr/bin/nice')
    ? ['/usr/bin/nice', '-n', '10', ...build]
    : build
  execFileSync(command, args, {
    cwd: source,
    stdio: ['ignore', 'inherit', 'inherit'],
    // Never download another Go for a toolchain line; never change go.mod or go.sum while building.
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
  })
  renameSync(partial, binary)
  log(`cluster: built in ${Math.round((Date.now() - started) / 1000)}s`)
  // Binaries of older sources (about 190 MB each) go; a running one keeps its file until it exits.
  const cache = dirname(dirname(binary))
  for (const entry of readdirSync(cache)) {
    if (entry !== basename(dirname(binary)))
      rmSync(join(cache, entry), { recursive: true, force: true })
  }
  return binary
}

/**
 * Starts a cluster from `binary` and resolves with its ready line once it can run a Deployment.
 * The child watches its stdin: if this process dies, the cluster goes too.
 *
 * @param {{ binary: string, kubeconfig: string, nodes?: number, timeoutMs?: number }} options
 */
export function startClusterProcess({ binary, kubeconfig, nodes = 3, timeoutMs = 120_000 }) {
  const child = spawn(binary, [`--kubeconfig=${kubeconfig}`, `--nodes=${nodes}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  // The log's tail, for the error when the cluster does not start (the whole log is on its stderr).
  let tail = ''
  child.stderr.on('data', (d) => (tail = (tail + d.toString()).slice(-16_000)))
  const logText = () => tail
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  const ready = new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGTERM')
      reject(new Error(`cluster: not ready after ${timeoutMs}ms\n${logText()}`))
    }, timeoutMs)
    child.stdout.on('data', (d) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) {
        clearTimeout(timer)
        resolve(JSON.parse(line))
      }
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`cluster exited (${code ?? signal}) before ready\n${logText()}`))
    })
  })
  return { child, ready, exited, logText }
}

async function main() {
  const [command, ...args] = process.argv.slice(2)
  if (command === 'build') {
    console.log(buildCluster())
    return
  }
  if (command === 'start') {
    const flag = (name) => {
      const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
      if (i < 0) return undefined
      return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1]
    }
    const kubeconfig =
      flag('kubeconfig') ?? join(mkdtempSync(join(tmpdir(), 'gitops-cluster-')), 'kubeconfig')
    const cluster = startClusterProcess({
      binary: buildCluster(),
      kubeconfig,
      nodes: Number(flag('nodes') ?? 3),
    })
    cluster.child.stderr.pipe(process.stderr)
    console.log(JSON.stringify(await cluster.ready))
    console.error(`cluster: ready; KUBECONFIG=${kubeconfig}; Ctrl-C stops it`)
    const stop = () => cluster.child.kill('SIGTERM')
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    const { code } = await cluster.exited
    process.exit(code ?? 0)
  }
  console.error('usage: node scripts/cluster.mjs build | start [--kubeconfig FILE] [--nodes N]')
  process.exit(2)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
