// The running agent (dist/agent, not --once) under faults between it and the API server or the git host,
// while releases move in git: afterwards the cluster is exactly what git declares, nothing git still
// declared was ever deleted, and the process never exited on its own. Each scenario records its row of
// the reliability table (tries: cycles or restarts seen; recovered: 1 when it converged; lost: objects
// wrongly deleted or missing, plus 1 if the agent exited) and asserts `lost` is 0 itself.
import { renameSync } from 'node:fs'
import { AGENT_NS, agentArgs, RunningAgent } from '../support/agent.js'
import { AppsRepo, APPS_NS, type ClusterDiff } from '../support/apps-repo.js'
import { bareRemote, git } from '../support/git.js'
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { TcpGate } from '../support/tcp-gate.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'
import { recordFault } from './report.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The same faults on every run: a small seeded generator for the server's rates. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

let server: KubeApiServer
beforeEach(async () => {
  server = await startKubeApiServer({
    namespaces: ['default', AGENT_NS, APPS_NS],
    rolloutDelayMs: 20,
    progressDeadlineMs: 2000,
    random: seeded(12),
  })
})
afterEach(async () => {
  server.faults.clear()
  await server.stop()
})
afterAll(cleanupTempDirs)

/** Five apps of ten objects (ConfigMaps, a Deployment in two of them), pushed. */
function appsRepo(options: Partial<ConstructorParameters<typeof AppsRepo>[2]> = {}): AppsRepo {
  const repo = new AppsRepo(bareRemote(), server, {
    units: 5,
    perUnit: 10,
    deployments: 2,
    ...options,
  })
  repo.pushAll()
  return repo
}

/** A running agent polling every second, pruning, its /readyz on a free port; every cycle logged. */
async function startAgent(
  repo: AppsRepo,
  options: { workDir?: string; kubeconfig?: string; extra?: string[] } = {},
): Promise<{ agent: RunningAgent; readyz: () => Promise<number> }> {
  const args = agentArgs(
    server,
    repo.remote,
    [
      '--git-poll-interval',
      '1s',
      '--sync-interval',
      '8s',
      '--sync-garbage-collection',
      '--health-timeout',
      '5s',
      '--request-timeout',
      '5s',
      '--listen',
      '127.0.0.1:0',
      ...(options.extra ?? []),
    ],
    options.workDir ?? tempDir('gitops-agent-'),
  )
  if (options.kubeconfig) args[args.indexOf('--kubeconfig') + 1] = options.kubeconfig
  // Quiet cycles are debug lines: the cycles seen are counted from them too.
  const agent = new RunningAgent(args, { GITOPS_DEBUG: 'true' })
  const port = (await agent.waitFor(/event=listening port=(\d+)/))[1]
  const readyz = async (): Promise<number> => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/readyz`)).status
    } catch {
      return 0
    }
  }
  return { agent, readyz }
}

const cycles = (agent: RunningAgent): number => agent.count(/event=cycle /)

const isEmpty = (d: ClusterDiff): boolean =>
  d.missing.length + d.stale.length + d.extra.length === 0

/** Waits until the cluster is what git declares; false if the agent exits or time runs out first. */
async function converged(
  repo: AppsRepo,
  agent: RunningAgent | undefined,
  timeoutMs = 60_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (isEmpty(repo.diff())) return true
    if (agent && agent.exitCode !== undefined) return false
    await sleep(200)
  }
  return isEmpty(repo.diff())
}

/** The first sync before any fault: it must converge, or the scenario tells nothing. */
async function firstSync(repo: AppsRepo, agent: RunningAgent): Promise<void> {
  if (await converged(repo, agent)) return
  await agent.stop()
  throw new Error(
    `the first sync did not converge: ${JSON.stringify(repo.diff())}\n${agent.output.slice(-5000)}`,
  )
}

/** Polls `/readyz` until stopped: every status it answered. */
function watchReadiness(readyz: () => Promise<number>): { stop: () => Promise<Set<number>> } {
  const seen = new Set<number>()
  let running = true
  const loop = (async () => {
    while (running) {
      seen.add(await readyz())
      await sleep(250)
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return seen
    },
  }
}

interface Outcome {
  fault: string
  tries: number
  converged: boolean
  /** Why it did not converge or what was lost, for the failure message. */
  detail: Record<string, unknown>
  wronglyDeleted: string[]
  missing: string[]
  exited: boolean
}

/** Records the row, then asserts: converged, nothing wrongly deleted or missing, never exited. */
function settle(o: Outcome, agentOutput: string): void {
  const lost = o.wronglyDeleted.length + o.missing.length + (o.exited ? 1 : 0)
  recordFault({ fault: o.fault, tries: o.tries, recovered: o.converged ? 1 : 0, lost })
  const summary = {
    converged: o.converged,
    wronglyDeleted: o.wronglyDeleted,
    missing: o.missing,
    exited: o.exited,
    ...o.detail,
  }
  if (!o.converged || lost > 0) {
    // The agent's last words, quiet cycles left out.
    const tail = agentOutput
      .split('\n')
      .filter((l) => !/ debug /.test(l))
      .slice(-30)
      .join('\n')
    throw new Error(
      `${o.fault}: ${JSON.stringify(summary, null, 2)}\nthe agent's last lines:\n${tail}`,
    )
  }
  expect(lost).toBe(0)
}

/**
 * The end of a scenario on one running agent: converged, what was lost, whether it exited. Tries are
 * the cycles seen since `cyclesFrom` (lower it to count failed attempts too), or `restarts` when given.
 */
async function finish(
  fault: string,
  repo: AppsRepo,
  agent: RunningAgent,
  detail: Record<string, unknown> = {},
  count: { cyclesFrom?: number; restarts?: number } = {},
): Promise<void> {
  const ok = await converged(repo, agent)
  const exited = agent.exitCode !== undefined
  const tries = count.restarts ?? cycles(agent) - (count.cyclesFrom ?? 0)
  const diff = repo.diff()
  await agent.stop()
  settle(
    {
      fault,
      tries,
      converged: ok,
      detail: { ...detail, exitCode: agent.exitCode, stale: diff.stale, extra: diff.extra },
      wronglyDeleted: repo.wronglyDeleted(),
      missing: diff.missing,
      exited,
    },
    agent.output,
  )
}

test('5xx on 20 % of every path for 20 s while releases change: converges, nothing in git deleted, never exits', async () => {
  const repo = appsRepo()
  const { agent } = await startAgent(repo)
  await firstSync(repo, agent)
  const before = cycles(agent)
  server.faults.add({ errorRate: 0.1, errorCode: 500 })
  server.faults.add({ errorRate: 0.11, errorCode: 503 })
  for (let round = 0; round < 5 && agent.exitCode === undefined; round++) {
    repo.release()
    await sleep(4000)
  }
  server.faults.clear()
  await finish('agent: 5xx on 20 % of every path, 20 s', repo, agent, {}, { cyclesFrom: before })
})

test('the API server gone for 20 s (connections refused) while git moves: /readyz 503 meanwhile, converges after, never exits', async () => {
  const repo = appsRepo()
  const gate = await TcpGate.open(server.url)
  try {
    const { agent, readyz } = await startAgent(repo, { kubeconfig: gate.kubeconfig(server) })
    await firstSync(repo, agent)
    const before = cycles(agent)
    await gate.shut()
    const shutAt = agent.lines.length
    const readiness = watchReadiness(readyz)
    repo.release()
    await sleep(10_000)
    repo.release()
    await sleep(10_000)
    const seen = await readiness.stop()
    // Each attempt while it was gone ends in a logged error (no cycle completes).
    const attempts = agent.lines.slice(shutAt).filter((l) => /^\S+ (error|warn) /.test(l)).length
    await gate.open()
    await finish(
      'agent: API server gone for 20 s',
      repo,
      agent,
      { readyzWhileGone: [...seen], readyz503WhileGone: seen.has(503), attempts },
      { cyclesFrom: before - attempts },
    )
    // Not ready while the API server was gone (a process that exited answers nothing: 0).
    expect(seen.has(503)).toBe(true)
  } finally {
    await gate.shut()
  }
})

test('connections dropped during applies (dropConnections() every 0.5 s and 10 % of requests): converges, nothing in git deleted', async () => {
  const repo = appsRepo()
  const { agent } = await startAgent(repo)
  await firstSync(repo, agent)
  const before = cycles(agent)
  server.faults.add({ dropRate: 0.1 })
  const dropper = setInterval(() => server.dropConnections(), 500)
  try {
    for (let round = 0; round < 4 && agent.exitCode === undefined; round++) {
      repo.release()
      await sleep(3000)
    }
  } finally {
    clearInterval(dropper)
    server.faults.clear()
  }
  await finish('agent: connections dropped during applies', repo, agent, {}, { cyclesFrom: before })
})

test('the git host gone for several cycles: git errors logged, /readyz 503, nothing changed in the cluster; converges when it is back', async () => {
  const repo = appsRepo()
  const { agent, readyz } = await startAgent(repo)
  await firstSync(repo, agent)
  const before = cycles(agent)
  const away = `${repo.remote.path}.away`
  renameSync(repo.remote.path, away)
  const gitErrorsBefore = agent.count(/event=git-error/)
  const from = server.requests.all().length
  // Releases still land on the host meanwhile; the agent must not see them, nor touch the cluster.
  const moved = new AppsRepo({ path: away, url: `file://${away}` }, server, {
    units: 0,
    perUnit: 0,
  })
  moved.pushAll({ message: 'an empty commit while the host is away' })
  await agent.waitFor(/event=git-error/, gitErrorsBefore + 3, 20_000).catch(() => undefined)
  const gitErrors = agent.count(/event=git-error/) - gitErrorsBefore
  const writesWhileGone = repo.appWritesSince(from)
  const readyWhileGone = await readyz()
  const unchanged = isEmpty(repo.diff())
  renameSync(away, repo.remote.path)
  repo.release()
  await finish(
    'agent: git host gone for several cycles',
    repo,
    agent,
    { gitErrors, writesWhileGone, readyWhileGone, unchangedWhileGone: unchanged },
    { cyclesFrom: before },
  )
  expect(gitErrors).toBeGreaterThanOrEqual(3)
  expect(writesWhileGone).toBe(0)
  expect(unchanged).toBe(true)
  expect(readyWhileGone).toBe(503)
})

test('a force-pushed branch (history rewritten to another tree): applied as the new truth', async () => {
  const repo = appsRepo()
  const { agent } = await startAgent(repo)
  await firstSync(repo, agent)
  const before = cycles(agent)
  repo.release()
  await firstSync(repo, agent)
  repo.rewrite('rewritten')
  repo.pushAll({ force: true })
  repo.rewritten()
  await finish('agent: force-pushed branch', repo, agent, {}, { cyclesFrom: before })
  // Applied as the new truth, and said loudly: the old history's objects leave the cluster.
  expect(agent.output).toMatch(/warn .*event=history-rewritten .*branch=main .*force-pushed/)
})

test('a deleted branch: the cluster keeps its state, the agent keeps running and says so; restored, it converges', async () => {
  const repo = appsRepo()
  const { agent } = await startAgent(repo)
  await firstSync(repo, agent)
  const before = cycles(agent)
  const head = git(repo.remote.path, 'rev-parse', 'main').trim()
  const said = agent.count(/branch main is gone/)
  const from = server.requests.all().length
  git(repo.remote.path, 'update-ref', '-d', 'refs/heads/main')
  await agent.waitFor(/branch main is gone/, said + 3, 20_000).catch(() => undefined)
  const saidGone = agent.count(/branch main is gone/) - said
  const writesWhileGone = repo.appWritesSince(from)
  const unchanged = isEmpty(repo.diff())
  git(repo.remote.path, 'update-ref', 'refs/heads/main', head)
  repo.release()
  await finish(
    'agent: branch deleted, then restored',
    repo,
    agent,
    { saidGone, writesWhileGone, unchangedWhileGone: unchanged },
    { cyclesFrom: before },
  )
  expect(saidGone).toBeGreaterThanOrEqual(3)
  expect(writesWhileGone).toBe(0)
  expect(unchanged).toBe(true)
})

/** A large app whose applies (or deletes) are slowed down, so that a kill lands in the middle. */
function bigRepo(): AppsRepo {
  return appsRepo({ units: 2, perUnit: 40, deployments: 1 })
}

/** Kills the agent with SIGKILL once the server has seen `count` requests matching, then restarts it. */
async function killWhen(
  repo: AppsRepo,
  agent: RunningAgent,
  workDir: string,
  method: string,
  count: number,
): Promise<{ agent: RunningAgent; seen: number; midway: boolean }> {
  const from = server.requests.all().length
  const seen = () =>
    server.requests
      .all()
      .slice(from)
      .filter(
        (r) =>
          r.method === method &&
          !/dryRun/.test(r.query) &&
          r.path.includes(`/namespaces/${APPS_NS}/`),
      ).length
  const deadline = Date.now() + 30_000
  while (seen() < count && Date.now() < deadline && agent.exitCode === undefined) await sleep(20)
  const at = seen()
  await agent.stop('SIGKILL')
  // Requests already sent still complete on the server: midway means git was not reached even so.
  await sleep(500)
  const midway = !isEmpty(repo.diff())
  server.faults.clear()
  const restarted = (await startAgent(repo, { workDir })).agent
  return { agent: restarted, seen: at, midway }
}

test('SIGKILL mid-apply, restarted with the same work dir: converges, nothing wrongly deleted', async () => {
  const repo = bigRepo()
  const workDir = tempDir('gitops-agent-')
  // Two requests at a time: the kill lands with much of the work still to do.
  const first = (await startAgent(repo, { workDir, extra: ['--concurrency', '2'] })).agent
  await firstSync(repo, first)
  server.faults.add({ method: 'PATCH', path: /\/namespaces\/apps\//, latencyMs: 150 })
  repo.change('app0', 'changed')
  repo.change('app1', 'changed')
  repo.remove('app1', 5)
  const { agent, seen, midway } = await killWhen(repo, first, workDir, 'PATCH', 10)
  await finish(
    'agent: SIGKILL mid-apply, restarted',
    repo,
    agent,
    { patchesBeforeKill: seen, midway },
    {
      restarts: 1,
    },
  )
  expect(seen).toBeGreaterThanOrEqual(10)
  expect(midway).toBe(true)
})

test('SIGKILL mid-prune, restarted with the same work dir: what should be pruned is pruned, nothing else', async () => {
  const repo = bigRepo()
  const workDir = tempDir('gitops-agent-')
  // Two requests at a time: the kill lands with much of the work still to do.
  const first = (await startAgent(repo, { workDir, extra: ['--concurrency', '2'] })).agent
  await firstSync(repo, first)
  server.faults.add({ method: 'DELETE', path: /\/namespaces\/apps\//, latencyMs: 200 })
  repo.remove('app1', 30)
  repo.change('app0', 'changed')
  const { agent, seen, midway } = await killWhen(repo, first, workDir, 'DELETE', 4)
  await finish(
    'agent: SIGKILL mid-prune, restarted',
    repo,
    agent,
    { deletesBeforeKill: seen, midway },
    {
      restarts: 1,
    },
  )
  expect(seen).toBeGreaterThanOrEqual(4)
  expect(midway).toBe(true)
})
