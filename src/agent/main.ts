/**
 * `gitops-agent`: reads its flags, then syncs on every poll until stopped (or once, with `--once`).
 * Exit codes with `--once`: 0 all units in sync and healthy, 1 a unit failed, 2 bad configuration.
 */
import { existsSync, readFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Backoff } from '../lib/backoff.js'
import { errorMessage } from '../lib/errors.js'
import type { GitAuth } from '../lib/git/git.js'
import { sleep } from '../lib/concurrency.js'
import { KubeClient } from '../lib/kube/client.js'
import { acquire, AGENT_LEASE, release, tryAcquire } from '../lib/kube/lease.js'
import { redactUrl } from '../lib/git/remote.js'
import type { Logger } from '../lib/log.js'
import { parseConfig, readFlagFile, readSecretRef, usage, type AgentConfig } from './config.js'
import { SyncAgent, type CycleResult } from './cycle.js'
import { EventRecorder } from './report/events.js'
import { serveReports } from './report/http.js'
import { Metrics } from './report/metrics.js'
import { parseWebhooks } from '../lib/notify/index.js'
import { Notifier } from './report/notify.js'
import { Reporter } from './report/reporter.js'
import { CommitStatuses } from './report/statuses.js'

const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace'
const DEFAULT_SSH_KEY = '/etc/gitops/ssh/identity'
const DEFAULT_KNOWN_HOSTS = '/etc/gitops/ssh/known_hosts'
/** The longest wait between tries after a transient API error (shorter when the poll is). */
const MAX_BACKOFF_MS = 30_000
const RELEASE_TIMEOUT_MS = 5_000

/** JSON lines (default) or plain text, one line per event. */
export function agentLogger(
  format: 'json' | 'text',
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Logger {
  const line = (level: string, text: string): void => {
    const ts = new Date().toISOString()
    // One line per event, whatever git or the API server said.
    const msg = text.replace(/\s*\n\s*/g, ' ')
    write(
      format === 'json' ? JSON.stringify({ ts, level, msg }) : `${ts} ${level.padEnd(5)} ${msg}`,
    )
  }
  return {
    debug: (m) => (process.env.GITOPS_DEBUG === 'true' ? line('debug', m) : undefined),
    info: (m) => line('info', m),
    warn: (m) => line('warn', m),
    error: (m) => line('error', m),
  }
}

/** Runs the agent; resolves with the process exit code. */
export async function main(
  argv: string[],
  env = process.env,
  signal?: AbortSignal,
): Promise<number> {
  let config: AgentConfig
  let log: Logger = agentLogger('text')
  let client: KubeClient
  let auth: GitAuth
  let notifier: Notifier | undefined
  let statuses: CommitStatuses | undefined
  try {
    const parsed = parseConfig(argv, env, {
      namespace: existsSync(IN_CLUSTER_NAMESPACE)
        ? readFileSync(IN_CLUSTER_NAMESPACE, 'utf8').trim()
        : 'gitops-system',
      workDir: join(tmpdir(), 'gitops-agent'),
      sshKey: existsSync(DEFAULT_SSH_KEY) ? DEFAULT_SSH_KEY : undefined,
      knownHosts: existsSync(DEFAULT_KNOWN_HOSTS) ? DEFAULT_KNOWN_HOSTS : undefined,
    })
    if (parsed === 'help') {
      process.stdout.write(`${usage()}\n`)
      return 0
    }
    config = parsed
    log = agentLogger(config.logFormat)
    auth = {
      sshKey: config.sshKeyFile ? readFlagFile('ssh-key', config.sshKeyFile) : undefined,
      knownHosts: config.knownHostsFile
        ? readFlagFile('known-hosts', config.knownHostsFile)
        : undefined,
    }
    client = KubeClient.load(config.kubeconfig, { requestTimeoutMs: config.requestTimeoutMs })
    if (config.notify && !config.dryRun) {
      const hooks = parseWebhooks(readSecretRef('notify', config.notify, env))
      notifier = new Notifier(hooks, config.clusterName, log)
      log.info(
        `event=notify webhooks=${hooks.map((h) => `${h.kind}@${new URL(h.url).host}`).join(',')}`,
      )
    }
    if (config.statuses && !config.dryRun) {
      const token = readSecretRef('status-token', config.statuses.token, env)
      statuses = new CommitStatuses(
        { ...config.statuses, token },
        config.gitUrl,
        config.clusterName,
        log,
      )
    }
  } catch (error) {
    log.error(`gitops-agent: ${errorMessage(error)}`)
    return 2
  }
  const agentName = config.namespace
  // The pod's name: a restarted container takes its own lease back at once.
  const identity = env.POD_NAME ?? hostname()
  const metrics = new Metrics()
  const reporter = new Reporter({
    metrics,
    log,
    notifier,
    statuses,
    events:
      config.events && !config.dryRun
        ? new EventRecorder(
            client,
            config.namespace,
            env.POD_NAME,
            identity,
            config.clusterName,
            log,
          )
        : undefined,
  })
  const agent = new SyncAgent(config, client, log, auth, agentName, (o) => reporter.applied(o))
  let server: Awaited<ReturnType<typeof serveReports>> | undefined
  if (config.listen) {
    try {
      server = await serveReports(config.listen, metrics, reporter)
    } catch (error) {
      log.error(`gitops-agent: cannot listen on --listen: ${errorMessage(error)}`)
      await agent.dispose()
      return 2
    }
    log.info(`event=listening port=${server.port} paths=/healthz,/readyz,/metrics`)
  }
  const lease = {
    namespace: config.namespace,
    name: AGENT_LEASE,
    identity,
    durationSeconds: Math.max(30, Math.ceil((config.gitPollIntervalMs * 3) / 1000)),
  }
  log.info(
    `event=started url=${redactUrl(config.gitUrl)} paths=${config.gitPaths.join(',') || '.'} namespace=${config.namespace} gc=${config.gc}${config.dryRun ? ' dry-run=true' : ''}`,
  )
  // A transient API error (an API server restarting, a 503, connections refused) never ends a running
  // agent: it says so, is not ready meanwhile, and tries again after a jittered back-off no longer
  // than the poll interval. `--once` fails at once (exit 1): a job is not meant to wait for the cluster.
  // Waits that double from 1 s up to the cap, each between half and all of its bound.
  const backoff = new Backoff({
    baseMs: 1000,
    capMs: Math.min(MAX_BACKOFF_MS, Math.max(1000, config.gitPollIntervalMs)),
    jitter: 'equal',
  })
  const transient = async (what: string, error: unknown): Promise<void> => {
    const message = errorMessage(error)
    const wait = backoff.next()
    log.error(`event=api-error ${what}: ${message}; trying again in ${Math.round(wait / 1000)}s`)
    reporter.apiFailed(`${what}: ${message}`)
    await sleep(wait, signal)
  }
  try {
    let lastFull = 0
    let cycles = 0
    for (;;) {
      // Writing anything (even the lease) is left out of a dry run.
      if (!config.dryRun) {
        let held: Awaited<ReturnType<typeof acquire>>
        try {
          held = await acquire(client, lease, log, signal)
        } catch (error) {
          if (config.once) throw error
          await transient(`taking the lease ${lease.namespace}/${lease.name}`, error)
          if (signal?.aborted) return 0
          continue
        }
        if (!held) return 0
        if (held === 'acquired') agent.forgetInventories()
      }
      const full = Date.now() - lastFull >= config.syncIntervalMs
      const started = Date.now()
      // A cycle can outlast the lease (health waits): renew it meanwhile, and if another agent took
      // it, this one prunes nothing more.
      const renew = config.dryRun
        ? undefined
        : setInterval(
            () => {
              tryAcquire(client, lease)
                .then((held) => {
                  // Taken again after it lapsed: another agent may have held it meanwhile.
                  if (held !== 'renewed')
                    agent.holdPruning(
                      held
                        ? 'the lease lapsed and was taken again'
                        : 'another agent took the lease',
                    )
                })
                .catch((e: unknown) => log.warn(`could not renew the lease: ${errorMessage(e)}`))
            },
            (lease.durationSeconds * 1000) / 3,
          )
      let result: CycleResult
      try {
        result = await agent.cycle({ full: full && lastFull !== 0 })
        await reporter.cycleDone(result, Date.now() - started)
      } catch (error) {
        if (config.once) throw error
        await transient('syncing', error)
        if (signal?.aborted) return 0
        continue
      } finally {
        clearInterval(renew)
      }
      const quiet = result.units.every((u) => u.status === 'unchanged')
      const p = result.phases
      const phases = p
        ? ` gitMs=${p.gitMs} loadMs=${p.loadMs} applyMs=${p.applyMs} healthMs=${p.healthMs}`
        : ''
      const line = `event=cycle durationMs=${Date.now() - started}${phases} units=${result.units.length}`
      cycles++
      // A quiet cycle is worth a line only as the first after a start (the agent is up and in sync).
      if (quiet && cycles > 1) log.debug(line)
      else log.info(line)
      if (full) lastFull = Date.now()
      if (config.once) {
        const failed = result.units.filter((u) => u.status === 'failed').length
        const rss = Math.round(process.resourceUsage().maxRSS / 1024)
        log.info(`event=done units=${result.units.length} failed=${failed} maxRssMB=${rss}`)
        return result.gitError !== undefined || result.apiError !== undefined || failed > 0 ? 1 : 0
      }
      // The API server failing mid-cycle: tried again sooner than the next poll, backing off.
      if (result.apiError === undefined) backoff.reset()
      await sleep(result.apiError === undefined ? config.gitPollIntervalMs : backoff.next(), signal)
      if (signal?.aborted) return 0
    }
  } catch (error) {
    log.error(`gitops-agent: ${errorMessage(error)}`)
    return 1
  } finally {
    // Stopping is not held up by an API server that does not answer: the lease then simply expires.
    if (!config.dryRun) {
      const timer = new AbortController()
      await Promise.race([
        release(client, lease).catch((e: unknown) =>
          log.warn(`could not release the lease: ${errorMessage(e)}`),
        ),
        sleep(RELEASE_TIMEOUT_MS, timer.signal),
      ])
      // The timer would keep the process alive.
      timer.abort()
    }
    await agent.dispose()
    await server?.close()
    client.close()
  }
}
