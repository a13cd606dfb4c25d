#!/usr/bin/env node
// The figures behind docs/decisions.md, measured again: `npm run bench:deps` (also part of `npm run bench`).
// Installs the libraries we chose against (simple-git, @kubernetes/client-node) into a temp folder from
// the configured npm registry with esbuild, bundles both sides with esbuild (`--ncc`: with the project's
// ncc, as dist/ is built: about a minute more), and prints:
//   git:       per-command time of 200 silent git commands (update-ref) and 100 that print (rev-parse),
//              through our process runner and through simple-git;
//   kube:      bundle size, and the RSS of a process that makes 200 reads against the test API server,
//              with our client and with client-node;
//   manifests: time to parse 5,000 manifests with our loader (js-yaml, YAML 1.1 schema) and with `yaml`.
// @kubernetes/client-node is 1.x: 2.x fails at import on Node 20 (its undici needs zstd, Node >= 22).
import { execFile, execFileSync } from 'node:child_process'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { loadKubeApiServer } from './kube-api-bundle.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')
const CLIENT_NODE = '@kubernetes/client-node@1'
const useNcc = process.argv.includes('--ncc')
const work = mkdtempSync(join(tmpdir(), 'gitops-bench-deps-'))
const at = (...parts) => join(work, ...parts)
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const shown = (bytes) => (bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KB` : mb(bytes))

/** Bundles `entry` into `<work>/bundles/<name>`; the bundle's size (all files written). */
function bundle(name, entry) {
  const out = at('bundles', name)
  if (useNcc)
    execFileSync(process.execPath, [ncc, 'build', entry, '-o', out, '-q', '-t'], {
      cwd: root,
      stdio: 'inherit',
    })
  else
    execFileSync(
      at('node_modules', '.bin', 'esbuild'),
      [
        entry,
        '--bundle',
        '--platform=node',
        '--format=esm',
        '--log-level=warning',
        // CommonJS dependencies inside an ES module bundle still call require.
        "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        `--outfile=${join(out, 'index.js')}`,
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    )
  const size = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (sum, e) =>
        sum + (e.isDirectory() ? size(join(dir, e.name)) : statSync(join(dir, e.name)).size),
      0,
    )
  return { file: join(out, 'index.js'), size: size(out) }
}

const importFile = (file) => import(pathToFileURL(file).href)

/** Runs a module in a fresh Node process (the test API server answers from this one); its stdout, as JSON. */
function child(script, args = []) {
  const file = at(`child-${Math.random().toString(36).slice(2)}.mjs`)
  writeFileSync(file, script)
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file, ...args], { cwd: work }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file}: ${stderr}`)) : resolve(JSON.parse(stdout)),
    )
  })
}

async function benchGit(runProcess, simpleGit) {
  const repo = at('repo')
  execFileSync('git', ['init', '-q', repo])
  execFileSync(
    'git',
    ['-c', 'user.name=b', '-c', 'user.email=b@x', 'commit', '-q', '--allow-empty', '-m', 'x'],
    {
      cwd: repo,
    },
  )
  // Commands that print nothing, as most of a publish's and a sync's are.
  const silent = (i) => ['update-ref', `refs/bench/${i % 10}`, 'HEAD']
  const printing = ['rev-parse', '--git-dir']
  const perCommand = async (n, run) => {
    await run(0) // warm
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await run(i)
    return ms(start) / n
  }
  const git = simpleGit(repo)
  const ours = (args) => runProcess('git', args, { cwd: repo, label: 'git' })
  const results = {
    oursSilent: await perCommand(200, (i) => ours(silent(i))),
    simpleSilent: await perCommand(200, (i) => git.raw(silent(i))),
    oursPrinting: await perCommand(100, () => ours(printing)),
    simplePrinting: await perCommand(100, () => git.raw(printing)),
  }
  console.log('git, per command (our process runner vs simple-git):')
  console.log(
    `  200 silent (update-ref)        ours ${results.oursSilent.toFixed(1)} ms   simple-git ${results.simpleSilent.toFixed(1)} ms   (+${(results.simpleSilent - results.oursSilent).toFixed(1)} ms)`,
  )
  console.log(
    `  100 printing (git rev-parse)   ours ${results.oursPrinting.toFixed(1)} ms   simple-git ${results.simplePrinting.toFixed(1)} ms`,
  )
}

async function benchKube(ours) {
  const theirs = bundle('client-node', at('client-node-entry.mjs'))
  const startKubeApiServer = await loadKubeApiServer()
  const server = await startKubeApiServer({ namespaces: ['default'] })
  try {
    server.objects.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bench', namespace: 'default' },
      data: { a: '1' },
    })
    const report = `console.log(JSON.stringify({ rss: process.memoryUsage().rss }))`
    const bare = (await child(report)).rss
    const oursRss = (
      await child(
        `const { KubeClient } = await import(${JSON.stringify(pathToFileURL(ours.file).href)})
const c = KubeClient.load(process.argv[2])
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'bench' }
for (let i = 0; i < 200; i++) await c.get(ref)
c.close()
${report}`,
        [server.kubeconfigPath],
      )
    ).rss
    const theirsRss = (
      await child(
        `import * as k8s from '@kubernetes/client-node'
const kc = new k8s.KubeConfig()
kc.loadFromFile(process.argv[2])
const api = kc.makeApiClient(k8s.CoreV1Api)
for (let i = 0; i < 200; i++) await api.readNamespacedConfigMap({ name: 'bench', namespace: 'default' })
${report}`,
        [server.kubeconfigPath],
      )
    ).rss
    console.log('Kubernetes API client (our client vs @kubernetes/client-node 1.x):')
    console.log(
      `  ${(useNcc ? 'ncc bundle' : 'esbuild bundle').padEnd(31)}ours ${shown(ours.size)}   client-node ${shown(theirs.size)}`,
    )
    console.log(
      `  RSS after 200 reads            ours ${mb(oursRss)}   client-node ${mb(theirsRss)}   (bare node ${mb(bare)}; client-node +${mb(theirsRss - oursRss)})`,
    )
  } finally {
    await server.stop()
  }
}

/** 5,000 manifests (a Deployment, a Service and a ConfigMap per app), as one multi-document text. */
function manifests(count) {
  const docs = []
  for (let i = 0; docs.length < count; i++) {
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: team-${i % 10}
  labels: {app: app-${i}, tier: web}
  annotations:
    example.com/owner: "team-${i % 10}"
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-${i}}
  template:
    metadata:
      labels: {app: app-${i}}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/app-${i}:1.2.${i}
          ports: [{containerPort: 8080, protocol: TCP}]
          env:
            - {name: MODE, value: production}
            - {name: VERBOSE, value: "no"}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {memory: 128Mi}
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 10
`)
    docs.push(`apiVersion: v1
kind: Service
metadata:
  name: app-${i}
  namespace: team-${i % 10}
spec:
  selector: {app: app-${i}}
  ports:
    - port: 80
      targetPort: 8080
`)
    docs.push(`apiVersion: v1
kind: ConfigMap
metadata:
  name: app-${i}-config
  namespace: team-${i % 10}
data:
  mode: "0644"
  enabled: "yes"
  greeting: hello from app ${i}
`)
  }
  return docs.slice(0, count).join('---\n')
}

function benchYaml(parseManifestText) {
  const text = manifests(5000)
  const time = (parse) => {
    parse() // warm
    // The best of three: the run least disturbed by garbage collection and by other processes.
    return Math.min(
      ...Array.from({ length: 3 }, () => {
        const start = process.hrtime.bigint()
        parse()
        return ms(start)
      }),
    )
  }
  const ours = time(() => parseManifestText(text, 'bench.yaml', { maxBytes: Infinity }))
  const theirs = time(() => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS()))
  console.log(
    `manifests, 5,000 documents (${mb(Buffer.byteLength(text))}), best of 3 (our js-yaml loader vs yaml, version 1.1):`,
  )
  console.log(
    `  parse                          ours ${ours.toFixed(0)} ms   yaml ${theirs.toFixed(0)} ms   (${(theirs / ours).toFixed(1)}x)`,
  )
}

try {
  const started = process.hrtime.bigint()
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      work,
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      'simple-git',
      CLIENT_NODE,
      'esbuild',
    ],
    { stdio: 'inherit' },
  )
  const need = createRequire(at('package.json'))
  const version = (name, base = work) =>
    JSON.parse(readFileSync(join(base, 'node_modules', name, 'package.json'), 'utf8')).version
  console.log(
    `bench:deps: simple-git ${version('simple-git')}, @kubernetes/client-node ${version('@kubernetes/client-node')}, ` +
      `js-yaml ${version('js-yaml', root)}, yaml ${version('yaml', root)}, node ${process.version}`,
  )
  mkdirSync(at('bundles'))
  writeFileSync(at('bundles', 'package.json'), '{ "type": "module" }\n')
  writeFileSync(at('client-node-entry.mjs'), "export * from '@kubernetes/client-node'\n")
  const kube = bundle('ours-kube', join(root, 'src', 'lib', 'kube', 'client.ts'))
  const { runProcess } = await importFile(
    bundle('ours-run', join(root, 'src', 'lib', 'process', 'run.ts')).file,
  )
  const { parseManifestText } = await importFile(
    bundle('ours-yaml', join(root, 'src', 'lib', 'manifests', 'yaml.ts')).file,
  )
  await benchGit(runProcess, need('simple-git').simpleGit)
  await benchKube(kube)
  benchYaml(parseManifestText)
  console.log(`bench:deps took ${(ms(started) / 1000).toFixed(0)} s`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
