/** What the cycle's steps share: the agent's settings and connections, and the values steps hand on. */
import type { Limiter } from '../../lib/concurrency.js'
import type { KubeClient } from '../../lib/kube/client.js'
import type { Inventory } from '../../lib/kube/inventory.js'
import type { Logger } from '../../lib/log.js'
import type { AgentConfig } from '../config.js'
import type { Ownership } from './ownership.js'
import type { InventoryCache } from './inventories.js'
import type { Retries } from './retries.js'

/** The agent's settings and connections, the same in every cycle. */
export interface AgentContext {
  config: AgentConfig
  client: KubeClient
  log: Logger
  /** The value of the agent label on everything it applies. */
  agentName: string
  /** One budget of API requests in flight (`--concurrency`), shared by the units applied together. */
  limiter: Limiter
  /** The inventories as this agent last read or wrote them. */
  inventoryCache: InventoryCache
  retries: Retries
  hold: PruneHold
}

/** What one cycle knows once its units are loaded: what each unit's steps read. */
export interface CycleState {
  commit: string
  /** Every unit is re-applied, changed or not. */
  full: boolean
  /** Each unit's inventory as the cycle began. */
  inventories: Map<string, Inventory>
  ownership: Ownership
  /** Kinds the CRDs in git define (`group/Kind` → namespaced). */
  crdKinds: Map<string, boolean>
}

/** A step's value for the next step, or what ends the cycle (or the unit's steps) early. */
export type Step<T, End> = { next: T } | { end: End }

/** Why nothing may be pruned in this cycle: a unit failed to load, or the lease was lost. */
export class PruneHold {
  /** Why the lease was lost during this cycle (set by the renewal, cleared as a cycle starts). */
  private leaseLost?: string
  private held?: string

  /** The caller holds the lease as a cycle starts. */
  startCycle(): void {
    this.leaseLost = undefined
  }

  /** A unit that failed to load may still declare what others dropped: no pruning this cycle. */
  loaded(broken: { path: string } | undefined): void {
    this.held = broken ? `unit ${broken.path} failed to load` : this.leaseLost
  }

  /** From now until the next cycle, nothing is pruned (e.g. another agent took the lease). */
  loseLease(reason: string): void {
    this.leaseLost = reason
    this.held = reason
  }

  /** The lease was lost during this cycle. */
  get lost(): boolean {
    return Boolean(this.leaseLost)
  }

  /** Why nothing is pruned now, if so. */
  get reason(): string | undefined {
    return this.held
  }
}
