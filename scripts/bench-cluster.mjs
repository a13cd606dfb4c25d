#!/usr/bin/env node
// The agent's figures of scripts/bench-agent.mjs, measured on the REAL API server of test/cluster
// (Kubernetes built from Go, scripts/cluster.mjs) instead of the project's Node test server:
//   - first sync of 2,000 ConfigMaps (20 apps × 100) plus a Namespace by the agent, against
//     `kubectl apply --server-side -f` of the same files (without and with kubectl's validation) and
//     against the server's ceiling (the same objects PATCHed raw, 16 at a time, over HTTP/1.1 and
//     HTTP/2) and beside the same PATCHes from a Node process of their own;
//   - a re-run with nothing changed (API writes outside the agent's namespace, counted by a proxy);
//   - one changed app of 20: the agent (--once and running) against kubectl re-applying everything.
// The real server keeps its state, so each contender syncs its own target namespace (TARGETS) and
// creates its 2,000 objects fresh. One cluster for the whole run, stopped at the end (also on errors).
// Without Go (and no cached binary to run) it prints why it skips and exits 0.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { Agent, request } from 'node:https'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { agentBodies, changeApp, git, makeRepo, run } from './bench-repo.mjs'
import { buildCluster, clusterBinaryPath, goCommand, startClusterProcess } from './cluster.mjs'
import { rawPatches, rawPatchesProcess } from './raw-patches.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const kubectl = join(root, '.tools', 'bin', 'kubectl')
const NS = 'gitops-system'
const CONCURRENCY = 16
/** A namespace per contender, so that each creates its 2,000 objects. */
/** The raw PATCHes' namespaces, before and after the agent: the ceilings, and from a process of their own. */
const RAW = {
  'HTTP/1.1': ['bench-raw', 'bench-raw-2'],
  'HTTP/2': ['bench-raw-h2', 'bench-raw-h2-2'],
  own: ['bench-raw-own', 'bench-raw-own-2'],
}
const TARGETS = [
  'bench-agent',
  'bench-kubectl',
  'bench-kubectl-strict',
  ...Object.values(RAW).flat(),
]

// The cached binary needs no Go; building it does.
if (!existsSync(clusterBinaryPath()) && !goCommand()) {
  console.log(
    'agent (real API server): skipped: Go is not on PATH nor at /usr/local/go/bin/go, and the test/cluster control plane is not built (see test/cluster/README.md)',
  )
  process.exit(0)
}

const work = mkdtempSync(join(tmpdir(), 'gitops-bench-cluster-'))
/** The admin's credentials from the cluster's kubeconfig (a client certificate). */
function credentials(kubeconfigPath) {
  const config = parse(readFileSync(kubeconfigPath, 'utf8'))
  const b64 = (s) => Buffer.from(s, 'base64')
  return {
    server: new URL(config.clusters[0].cluster.server),
    ca: b64(config.clusters[0].cluster['certificate-authority-data']),
    cert: b64(config.users[0].user['client-certificate-data']),
    key: b64(config.users[0].user['client-key-data']),
  }
}

/** One request as the admin over `agent`; resolves with status and text, rejects on status >= 300. */
function call(creds, agent, method, path, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: creds.server.hostname,
        port: creds.server.port,
        method,
        path,
        agent,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': contentType } : {}),
        },
      },
      (res) => {
        let text = ''
        res.on('data', (d) => (text += d))
        res.on('end', () =>
          res.statusCode < 300
            ? resolve({ status: res.statusCode, text })
            : reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`)),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * A plain-HTTP proxy in front of the real server, speaking as the admin, that records each request: how
 * the writes of a run are counted (the server's apiserver_request_total has no namespace label).
 */
async function countingProxy(creds) {
  const upstream = new Agent({ keepAlive: true, ca: creds.ca, cert: creds.cert, key: creds.key })
  const log = []
  const server = createServer((req, res) => {
    log.push({ method: req.method, url: req.url })
    const out = request(
      {
        host: creds.server.hostname,
        port: creds.server.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: creds.server.host },
        agent: upstream,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    out.on('error', (e) => res.destroy(e))
    req.pipe(out)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const kubeconfigPath = join(work, 'proxy-kubeconfig')
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: proxy\n  cluster:\n    server: http://127.0.0.1:${server.address().port}`,
      'users:',
      '- name: proxy\n  user: {}',
      'contexts:',
      '- name: proxy\n  context:\n    cluster: proxy\n    user: proxy',
      'current-context: proxy',
      '',
    ].join('\n'),
  )
  return {
    kubeconfigPath,
    log,
    stop: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      upstream.destroy()
    },
  }
}

/** The same objects PATCHed straight at the server (SSA, forced), 16 at a time, over HTTP/1.1 or HTTP/2. */
const ceiling = (creds, bodies, http2) =>
  rawPatches(
    creds.server.href,
    { ca: creds.ca, cert: creds.cert, key: creds.key },
    undefined,
    bodies,
    { http2, concurrency: CONCURRENCY },
  )

const agentArgs = (repo, kubeconfig, workDir) => [
  join(root, 'dist', 'agent', 'index.js'),
  `--git-url=file://${repo.bare}`,
  '--git-path=releases/bench',
  `--kubeconfig=${kubeconfig}`,
  `--namespace=${NS}`,
  '--log-format=text',
  `--work-dir=${workDir}`,
  `--concurrency=${CONCURRENCY}`,
]
/** Every agent output of the run, for its warnings and errors. */
const agentLogs = []
async function agentOnce(repo, kubeconfig, workDir) {
  const result = await run(process.execPath, [...agentArgs(repo, kubeconfig, workDir), '--once'])
  agentLogs.push(result.out + result.err)
  return result
}
// --validate=false, as in bench-agent.mjs: kubectl's own validation (the default, strict) costs it tens of
// milliseconds of CPU per object before it sends anything (it unmarshals the OpenAPI v3 document for each,
// kubernetes/kubernetes#127095); measured once on its own.
const kubectlApply = (kubeconfig, dir, validate = 'false') =>
  run(kubectl, [
    'apply',
    '--server-side',
    `--validate=${validate}`,
    '--field-manager=bench',
    '-R',
    '-f',
    dir,
    `--kubeconfig=${kubeconfig}`,
    `--cache-dir=${join(work, 'kcache', String(Math.random()))}`,
  ])
const phase = (out, name) => Number(new RegExp(`event=cycle .*\\b${name}=(\\d+)`).exec(out)?.[1])

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')

let cluster
let running
const stopCluster = async () => {
  if (!cluster) return
  const { child, exited } = cluster
  cluster = undefined
  child.kill('SIGTERM')
  let timer
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 30_000)))
  if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL')
  clearTimeout(timer)
}
// Ctrl-C: the cluster would go with our stdin anyway; the temp folder would not.
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    running?.kill('SIGTERM')
    void stopCluster().finally(() => {
      rmSync(work, { recursive: true, force: true })
      process.exit(130)
    })
  })

try {
  const loadBefore = load()
  const binary = buildCluster()
  const kubeconfig = join(work, 'kubeconfig')
  cluster = startClusterProcess({ binary, kubeconfig })
  const ready = await cluster.ready
  const creds = credentials(kubeconfig)
  const admin = new Agent({ keepAlive: true, ca: creds.ca, cert: creds.cert, key: creds.key })
  const version = JSON.parse((await call(creds, admin, 'GET', '/version')).text).gitVersion
  for (const name of [NS, ...TARGETS, 'bench-warmup'])
    await call(
      creds,
      admin,
      'POST',
      '/api/v1/namespaces',
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
    )
  admin.destroy()

  const repo = makeRepo(work, 'r-agent', { ns: 'bench-agent', apps: 20, per: 100 })
  const kTree = makeRepo(work, 'r-kubectl', { ns: 'bench-kubectl', apps: 20, per: 100 })
  const kStrictTree = makeRepo(work, 'r-kubectl-strict', {
    ns: 'bench-kubectl-strict',
    apps: 20,
    per: 100,
  })
  // The raw PATCHes' bodies, made before any is timed.
  const rawBodies = Object.fromEntries(
    Object.entries(RAW).map(([kind, namespaces]) => [
      kind,
      namespaces.map((ns) =>
        agentBodies(makeRepo(work, `r-${ns}`, { ns, apps: 20, per: 100 }), NS),
      ),
    ]),
  )
  // A fresh API server (and etcd) is slower on its first thousand writes: warm it up unmeasured.
  await ceiling(
    creds,
    agentBodies(makeRepo(work, 'r-warmup', { ns: 'bench-warmup', apps: 10, per: 100 }), NS),
  )

  // The ceiling over both protocols the server speaks, and the same PATCHes from a Node process of
  // their own (what any Node client pays), right before and right after the agent's first sync: the
  // best of each, as the load of the machine (and the controllers' work on new objects) drifts over
  // the run.
  const raws = []
  const owns = []
  const measureRaw = async (i) => {
    const when = i === 0 ? 'before' : 'after'
    for (const protocol of ['HTTP/1.1', 'HTTP/2'])
      raws.push({
        protocol,
        when,
        ms: await ceiling(creds, rawBodies[protocol][i], protocol === 'HTTP/2'),
      })
    owns.push(
      await rawPatchesProcess(
        work,
        creds.server.href,
        { ca: creds.ca, cert: creds.cert, key: creds.key },
        undefined,
        rawBodies.own[i],
      ),
    )
  }
  await measureRaw(0)
  const agentDir = join(work, 'agent-a')
  const first = await agentOnce(repo, kubeconfig, agentDir)
  await measureRaw(1)
  const raw = Math.min(...raws.map((r) => r.ms))
  const h1 = Math.min(...raws.filter((r) => r.protocol === 'HTTP/1.1').map((r) => r.ms))
  const own = owns.reduce((a, b) => (a.ms <= b.ms ? a : b))
  const rerun = await agentOnce(repo, kubeconfig, agentDir)
  // Writes are counted on a second quiet re-run through the proxy (which adds its own latency).
  const proxy = await countingProxy(creds)
  let counted
  try {
    counted = await agentOnce(repo, proxy.kubeconfigPath, agentDir)
  } finally {
    await proxy.stop()
  }
  const writes = proxy.log.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))
  const writesOutside = writes.filter((r) => !r.url.includes(`/namespaces/${NS}/`)).length

  // One app of twenty changes.
  changeApp(repo, 2)
  const oneApp = await agentOnce(repo, kubeconfig, agentDir)
  // The same change met by a running agent (as in a cluster): from the push to the app applied.
  running = spawn(
    process.execPath,
    [...agentArgs(repo, kubeconfig, agentDir), '--git-poll-interval=100ms', '--listen=off'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let log = ''
  let all = ''
  running.stdout.on('data', (d) => ((log += d), (all += d)))
  running.stderr.on('data', (d) => (all += d))
  let gone = false
  running.on('close', () => (gone = true))
  const waitFor = async (re, what) => {
    const deadline = Date.now() + 120_000
    while (!re.test(log)) {
      if (gone) throw new Error(`the running agent exited before ${what}:\n${all.slice(-2000)}`)
      if (Date.now() > deadline) throw new Error(`no ${what} in 120 s:\n${all.slice(-2000)}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }
  const startedAt = process.hrtime.bigint()
  await waitFor(/event=cycle durationMs=/, 'first cycle')
  const startupCycleMs = Number(process.hrtime.bigint() - startedAt) / 1e6
  log = ''
  const pushed = process.hrtime.bigint()
  changeApp(repo, 3)
  await waitFor(/event=cycle durationMs=(\d+)/, 'cycle after the push')
  const liveMs = Number(process.hrtime.bigint() - pushed) / 1e6
  const cycleLine = /event=cycle durationMs=(\d+).*/.exec(log)
  const cycleMs = Number(cycleLine[1])
  running.kill('SIGTERM')
  if (!gone) await new Promise((r) => running.on('close', r))
  running = undefined
  agentLogs.push(all)

  const kFirst = await kubectlApply(kubeconfig, join(kTree.tree, 'releases', 'bench'))
  changeApp(kTree, 2)
  const kAgain = await kubectlApply(kubeconfig, join(kTree.tree, 'releases', 'bench'))
  const kStrict = await kubectlApply(
    kubeconfig,
    join(kStrictTree.tree, 'releases', 'bench'),
    'strict',
  )

  // What each contender left behind: 2,000 ConfigMaps (besides kube-root-ca.crt).
  const counts = {}
  for (const ns of TARGETS) {
    const out = execFileSync(kubectl, [
      'get',
      'configmaps',
      `--namespace=${ns}`,
      '-o',
      'name',
      `--kubeconfig=${kubeconfig}`,
      `--cache-dir=${join(work, 'kcache', String(Math.random()))}`,
    ]).toString()
    counts[ns] = out.split('\n').filter((l) => l && l !== 'configmap/kube-root-ca.crt').length
  }
  const loadAfter = load()

  const f = (ms) => `${ms.toFixed(0).padStart(6)} ms`
  console.log(
    `agent (real API server, Kubernetes ${version.replace(/^v/, '')}, 2,000 ConfigMaps in 20 apps + a Namespace; ` +
      `cluster ready in ${ready.startupMs} ms; load average ${loadBefore} before, ${loadAfter} after):`,
  )
  console.log(
    `  first sync, agent (--once), wall     ${f(first.ms)}  (${(first.ms / raw).toFixed(2)}x the ceiling; goal <= 1.3x; ${(first.ms / h1).toFixed(2)}x the HTTP/1.1 one, the agent's protocol)`,
  )
  const applyMs = phase(first.out, 'applyMs')
  console.log(
    `    of which git ${phase(first.out, 'gitMs')} ms, loading units ${phase(first.out, 'loadMs')} ms, ` +
      `applying ${applyMs} ms (${(applyMs / raw).toFixed(2)}x the ceiling, ${(applyMs / h1).toFixed(2)}x the HTTP/1.1 one), health ${phase(first.out, 'healthMs')} ms, ` +
      `process start-up and exit ${(first.ms - phase(first.out, 'durationMs')).toFixed(0)} ms`,
  )
  console.log(
    `  kubectl apply --server-side -f       ${f(kFirst.ms)}  (${(kFirst.ms / raw).toFixed(2)}x the ceiling; --validate=false)`,
  )
  console.log(
    `    same, kubectl's default validation ${f(kStrict.ms)}  (${(kStrict.ms / raw).toFixed(2)}x the ceiling; --validate=strict)`,
  )
  console.log(
    `  ceiling: raw PATCHes, 16 in parallel ${f(raw)}  (the best of ${raws.map((r) => `${r.protocol} ${r.when} the agent ${r.ms.toFixed(0)} ms`).join(', ')})`,
  )
  console.log(
    `  the same raw PATCHes, own process     ${f(own.ms)}  (${(own.ms / raw).toFixed(2)}x the ceiling; HTTP/1.1, start-up to exit, as the agent runs; the PATCHes alone ${own.patchMs.toFixed(0)} ms, ${(own.patchMs / raw).toFixed(2)}x; the better of ${owns.map((o) => o.ms.toFixed(0)).join(' ms before and ')} ms after the agent)`,
  )
  console.log(
    `  re-run, nothing changed              ${f(rerun.ms)}  API writes outside ${NS}: ${writesOutside} (goal 0; ` +
      `${writes.length} in all, ${proxy.log.length} requests, counted by a proxy on a second re-run of ${counted.ms.toFixed(0)} ms)`,
  )
  console.log(`  one app of 20 changed, agent --once  ${f(oneApp.ms)}`)
  console.log(
    `  same, a running agent: its cycle     ${f(cycleMs)}  (push to applied ${liveMs.toFixed(0)} ms, polling every 100 ms; its start-up cycle ${startupCycleMs.toFixed(0)} ms)\n` +
      `    phases: ${cycleLine[0].replace(/^.*durationMs=\d+ /, '')}`,
  )
  console.log(
    `  same, kubectl re-applying all        ${f(kAgain.ms)}  (running agent's cycle ${(kAgain.ms / cycleMs).toFixed(1)}x faster, --once ${(kAgain.ms / oneApp.ms).toFixed(1)}x; goal >= 10x)`,
  )
  console.log(
    `  agent peak RSS, first sync           ${String(/maxRssMB=(\d+)/.exec(first.out)?.[1]).padStart(6)} MB`,
  )
  console.log(
    `  ConfigMaps in the end: ${Object.entries(counts)
      .map(([ns, n]) => `${ns} ${n}`)
      .join(', ')} (2,000 each expected)`,
  )
  const odd = agentLogs
    .join('\n')
    .split('\n')
    .filter((l) => /^\S+ (warn|error)\s/.test(l))
  console.log(
    `  agent warnings and errors: ${odd.length}${odd.length ? `, e.g.\n    ${odd.slice(0, 5).join('\n    ')}` : ''}`,
  )
} finally {
  running?.kill('SIGTERM')
  await stopCluster()
  rmSync(work, { recursive: true, force: true })
}
