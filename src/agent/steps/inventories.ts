/**
 * The units' inventories (what each last applied), as read at the start of a sync interval and kept up
 * to date by this agent's own writes: while it holds the lease nobody else writes them, so a quiet poll
 * need not list them all.
 */
import { errorMessage } from '../../lib/errors.js'
import type { KubeClient } from '../../lib/kube/client.js'
import { listInventories, writeInventory, type Inventory } from '../../lib/kube/inventory.js'
import type { Logger } from '../../lib/log.js'
import type { AgentConfig } from '../config.js'
import type { Unit } from '../units.js'
import type { Step } from './context.js'
import { outcome, type CycleResult } from './outcome.js'

export class InventoryCache {
  private kept?: { byUnit: Map<string, Inventory>; readAt: number }

  constructor(
    private readonly config: AgentConfig,
    private readonly client: KubeClient,
    private readonly agentName: string,
  ) {}

  /**
   * Starts reading the inventories (the kept ones while fresh): the answer is collected later, so that
   * the API server is asked while the units load. `leaseLost` is asked as the answer is collected.
   */
  read(full: boolean, leaseLost: () => boolean): () => Promise<Map<string, Inventory>> {
    const { config } = this
    const known =
      !config.dryRun && !full && this.kept && Date.now() - this.kept.readAt < config.syncIntervalMs
        ? this.kept.byUnit
        : undefined
    const listing = known
      ? Promise.resolve(known)
      : listInventories(this.client, config.namespace, this.agentName)
    // Collected after loading; a git error first must not leave it rejected unheard.
    listing.catch(() => undefined)
    return async () => {
      const byUnit = await listing
      // A dry run holds no lease: someone else may be writing them.
      if (!known && !config.dryRun && !leaseLost()) this.kept = { byUnit, readAt: Date.now() }
      return byUnit
    }
  }

  /** Writes a unit's inventory and keeps what was written; a failed write makes the next cycle read all. */
  async write(inventory: Inventory): Promise<void> {
    try {
      const written = await writeInventory(
        this.client,
        this.config.namespace,
        this.agentName,
        inventory,
      )
      this.kept?.byUnit.set(inventory.unit, written)
    } catch (error) {
      this.kept = undefined
      throw error
    }
  }

  /** Read them again next cycle: another agent may have held the lease, and written them, meanwhile. */
  forget(): void {
    this.kept = undefined
  }
}

/**
 * The inventories `read` started. The API server out of reach ends the cycle, changing nothing: every
 * unit says so, none is to blame.
 */
export async function collect(
  log: Logger,
  read: () => Promise<Map<string, Inventory>>,
  units: Unit[],
  commit: string,
): Promise<Step<Map<string, Inventory>, CycleResult>> {
  try {
    return { next: await read() }
  } catch (error) {
    const message = errorMessage(error)
    log.error(`event=api-error: ${message}; nothing is changed in the cluster`)
    const failed = units.map((u) => outcome(u, 'failed', commit, { error: message }))
    return { end: { commit, apiError: message, units: failed } }
  }
}
