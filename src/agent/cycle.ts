/**
 * The agent's cycle, its steps in order (each in `steps/`):
 *   1. refresh: ask the remote for the branch head; fetch only when it moved (or nothing is checked out);
 *   2. load the units under the git paths (the inventories are read meanwhile), and plan who owns what;
 *   3. per unit: prepare (skipped while unchanged, until a full re-apply is due), apply,
 *   4. prune what it dropped (opt-in; retired units on purpose),
 *   5. record its inventory;
 *   then the orphans (vanished units: their objects stay), 6. health, and each unit's outcome.
 * A unit that fails keeps its last applied state; the others go on. The git host or the API server
 * being down changes nothing in the cluster.
 */
import { Limiter, mapLimit } from '../lib/concurrency.js'
import type { GitAuth } from '../lib/git/git.js'
import { crdScopes } from '../lib/kube/apply.js'
import type { KubeClient } from '../lib/kube/client.js'
import type { Logger } from '../lib/log.js'
import type { AgentConfig } from './config.js'
import type { UnitCache, Unit } from './units.js'
import { apply, applyOrder } from './steps/apply.js'
import { PruneHold, type AgentContext, type CycleState } from './steps/context.js'
import { health } from './steps/health.js'
import { collect, InventoryCache } from './steps/inventories.js'
import { load } from './steps/load.js'
import { orphans } from './steps/orphans.js'
import { logOutcome, PhaseClock, type CycleResult, type UnitOutcome } from './steps/outcome.js'
import { planOwnership } from './steps/ownership.js'
import { prepare } from './steps/prepare.js'
import { prune } from './steps/prune.js'
import { record } from './steps/record.js'
import { Repo } from './steps/refresh.js'
import { Retries } from './steps/retries.js'

export type { CycleResult, UnitOutcome, UnitStatus } from './steps/outcome.js'

/** Units applied at the same time (their requests share `--concurrency`). */
const UNITS_AT_ONCE = 4

/** The sync agent: one `cycle()` per poll, by the lease holder. */
export class SyncAgent {
  private readonly ctx: AgentContext
  private readonly repo: Repo
  /** The units loaded last time, by git's hash of their content: unchanged ones are not read again. */
  private readonly unitCache: UnitCache = new Map()

  constructor(
    config: AgentConfig,
    client: KubeClient,
    log: Logger,
    auth: GitAuth,
    /** The value of the agent label on everything it applies. */
    agentName: string,
    /** Called when a unit's content was applied, before its health is awaited. */
    private readonly onApplied?: (outcome: UnitOutcome) => Promise<void>,
  ) {
    this.repo = new Repo(config, auth, log)
    this.ctx = {
      config,
      client,
      log,
      agentName,
      limiter: new Limiter(config.concurrency),
      inventoryCache: new InventoryCache(config, client, agentName),
      retries: new Retries(config.gitPollIntervalMs, config.syncIntervalMs),
      hold: new PruneHold(),
    }
  }

  /** One cycle. `full` re-applies every unit, changed or not. */
  async cycle(options: { full?: boolean } = {}): Promise<CycleResult> {
    const { config, log, hold } = this.ctx
    const clock = new PhaseClock()
    hold.startCycle()
    // 1. The remote's head.
    const refreshed = await this.repo.refresh()
    if ('end' in refreshed) return refreshed.end
    const commit = refreshed.next
    clock.gitDone()

    // 2. The units, while the API server is asked what was applied before (read-only in dry-run).
    const inventoriesRead = this.ctx.inventoryCache.read(options.full === true, () => hold.lost)
    const loaded = await load(this.ctx, this.repo, commit, this.unitCache)
    if ('end' in loaded) return loaded.end
    const units = loaded.next
    const collected = await collect(log, inventoriesRead, units, commit)
    if ('end' in collected) return collected.end
    const inventories = collected.next
    const cycle: CycleState = {
      commit,
      full: options.full === true,
      inventories,
      ownership: planOwnership(units, inventories, config.defaultNamespace),
      crdKinds: crdScopes(units.flatMap((u) => u.objects.map((m) => m.object))),
    }
    hold.loaded(units.find((u) => u.error))
    clock.loadDone()

    // 3-5. Each unit on its own; a few at a time, sharing one request budget.
    const { oneByOne, together } = applyOrder(units)
    const sync = (unit: Unit) => this.syncUnit(cycle, unit)
    const outcomes = [
      ...(await mapLimit(oneByOne, 1, sync)),
      ...(await mapLimit(together, UNITS_AT_ONCE, sync)),
      ...orphans(log, config.gitPaths, units, inventories, commit),
    ]
    clock.applyDone()

    // 6. Health of what was rolled out, and of what earlier cycles rolled out.
    if (!config.dryRun) await health(this.ctx, outcomes, units)
    for (const o of outcomes) logOutcome(log, config, o)
    return { commit, units: outcomes, phases: clock.phases() }
  }

  /** One unit's steps; the reporter hears of what was applied before its health is awaited. */
  private async syncUnit(cycle: CycleState, unit: Unit): Promise<UnitOutcome> {
    const result = await this.unitSteps(cycle, unit)
    if (result.status === 'synced' && !this.ctx.config.dryRun) await this.onApplied?.(result)
    return result
  }

  /** Steps 3 to 5 for one unit: each may end the unit's steps with its outcome. */
  private async unitSteps(cycle: CycleState, unit: Unit): Promise<UnitOutcome> {
    const prepared = await prepare(this.ctx, cycle, unit)
    if ('end' in prepared) return prepared.end
    const applied = await apply(this.ctx, cycle, prepared.next)
    if ('end' in applied) return applied.end
    const pruned = await prune(this.ctx, cycle, prepared.next)
    return record(this.ctx, cycle, prepared.next, applied.next, pruned)
  }

  /** From now until the next cycle, nothing is pruned (e.g. another agent took the lease). */
  holdPruning(reason: string): void {
    this.ctx.hold.loseLease(reason)
    this.ctx.inventoryCache.forget()
    this.ctx.log.warn(`event=prune-held: ${reason}`)
  }

  /**
   * The inventories are read again next cycle: another agent may have held the lease, and written
   * them, since this one last did.
   */
  forgetInventories(): void {
    this.ctx.inventoryCache.forget()
  }

  async dispose(): Promise<void> {
    await this.repo.dispose()
  }
}
