/** The agent's chat messages: a unit's change of state, in the forms `lib/notify` posts. */
import type { Logger } from '../../lib/log.js'
import { postToWebhooks, type ChatMessage, type Webhook } from '../../lib/notify/index.js'
import type { UnitOutcome } from '../cycle.js'
import { appOf, describeChange, type Change } from './transitions.js'

const ICON: Record<Change, string> = {
  released: '✅',
  recovered: '✅',
  failed: '❌',
  pruned: '🗑️',
  orphaned: '⚠️',
}

/** The message for a unit's change; the generic webhook's fields are the outcome's. */
export function chatMessage(change: Change, o: UnitOutcome, cluster: string): ChatMessage {
  const r = o.release
  return {
    text: `${ICON[change]} ${describeChange(change, o, cluster)}`,
    about: `unit=${o.unit} change=${change}`,
    fields: {
      change,
      cluster,
      ...appOf(o),
      unit: o.unit,
      status: o.status,
      version: r?.version,
      sourceRepo: r?.sourceRepo,
      sourceCommit: r?.sourceCommit,
      sourceRun: r?.sourceRun,
      releasedBy: r?.releasedBy,
      gitopsCommit: o.commit,
      applied: o.applied,
      pruned: o.pruned,
      error: o.error,
    },
  }
}

export class Notifier {
  constructor(
    private readonly hooks: Webhook[],
    private readonly cluster: string,
    private readonly log: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Posts the change to every webhook; one that fails is logged and never fails the sync. */
  async send(change: Change, o: UnitOutcome): Promise<void> {
    await postToWebhooks(this.hooks, chatMessage(change, o, this.cluster), this.log, this.timeoutMs)
  }
}
