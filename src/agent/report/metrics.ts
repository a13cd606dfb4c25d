/** The agent's Prometheus metrics, in its own registry (with Node's process metrics). */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { CycleResult } from '../cycle.js'

export class Metrics {
  readonly registry = new Registry()
  private readonly syncDuration = new Histogram({
    name: 'gitops_agent_sync_duration_seconds',
    help: 'Duration of a sync cycle: git, apply, prune and health waits.',
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  })
  private readonly lastSuccess = new Gauge({
    name: 'gitops_agent_last_sync_success_timestamp_seconds',
    help: 'When a cycle last ended with every unit in sync and healthy (Unix time).',
    registers: [this.registry],
  })
  private readonly objects = new Counter({
    name: 'gitops_agent_objects_total',
    help: 'Objects applied, left unchanged (their unit was not due) and pruned.',
    labelNames: ['action'],
    registers: [this.registry],
  })
  private readonly unitErrors = new Counter({
    name: 'gitops_agent_unit_errors_total',
    help: 'Cycles in which a unit failed (to load, apply, prune or become healthy).',
    labelNames: ['unit'],
    registers: [this.registry],
  })
  private readonly unitReady = new Gauge({
    name: 'gitops_agent_unit_ready',
    help: '1 when the unit was in sync and healthy at its last cycle, else 0.',
    labelNames: ['unit'],
    registers: [this.registry],
  })
  private readonly remoteFailures = new Counter({
    name: 'gitops_agent_remote_head_failures_total',
    help: 'Cycles in which the git remote could not be queried or fetched.',
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry })
    // Present from the start, so a rate over them is defined before the first event.
    for (const action of ['applied', 'unchanged', 'pruned']) this.objects.inc({ action }, 0)
    this.remoteFailures.inc(0)
  }

  record(result: CycleResult, durationMs: number): void {
    this.syncDuration.observe(durationMs / 1000)
    if (result.gitError !== undefined) {
      this.remoteFailures.inc()
      return
    }
    for (const u of result.units) {
      if (u.status === 'orphaned') {
        this.unitReady.remove({ unit: u.unit })
        continue
      }
      this.objects.inc({ action: 'applied' }, u.applied)
      this.objects.inc({ action: 'pruned' }, u.pruned)
      if (u.status === 'unchanged') this.objects.inc({ action: 'unchanged' }, u.objects)
      if (u.status === 'failed') this.unitErrors.inc({ unit: u.unit })
      this.unitReady.set({ unit: u.unit }, u.status === 'failed' ? 0 : 1)
    }
    if (result.units.every((u) => u.status !== 'failed')) this.lastSuccess.setToCurrentTime()
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }
}
