/**
 * What changed for a unit since its last reported outcome. Chat messages, Events and commit statuses are
 * sent on a change of state, not on every cycle: three failures in a row are one message, and a drift
 * re-apply of the same release is none.
 */
import type { UnitOutcome } from '../cycle.js'

export type Change = 'released' | 'failed' | 'recovered' | 'pruned' | 'orphaned'

export class Transitions {
  /** Per unit: `ok:<digest>`, `failed:<digest>`, `pruned` or `orphaned`. */
  private readonly states = new Map<string, string>()

  /** The change this outcome would report, without recording it. */
  peek(o: UnitOutcome): Change | undefined {
    return this.evaluate(o).change
  }

  /** The change this outcome reports (undefined when none), and records its state. */
  record(o: UnitOutcome): Change | undefined {
    const { change, state } = this.evaluate(o)
    if (state !== undefined) this.states.set(o.unit, state)
    return change
  }

  private evaluate(o: UnitOutcome): { change?: Change; state?: string } {
    const previous = this.states.get(o.unit)
    const digest = o.digest ?? ''
    switch (o.status) {
      case 'failed': {
        const state = `failed:${digest}`
        return { state, change: previous === state ? undefined : 'failed' }
      }
      case 'synced': {
        const state = `ok:${digest}`
        // The same release applied again (a drift re-apply, the first cycle after a restart) is no news.
        if (previous === state || (previous === undefined && o.changed === false)) return { state }
        return { state, change: previous?.startsWith('failed:') ? 'recovered' : 'released' }
      }
      case 'unchanged':
        // Nothing was applied: news only on the first cycle after a start, or when the rollout that
        // failed its health check has become healthy since.
        if (previous === undefined) return { state: `ok:${digest}` }
        if (o.healthy === true && previous === `failed:${digest}`)
          return { state: `ok:${digest}`, change: 'recovered' }
        return {}
      case 'orphaned':
        // Told once when it happens; a restart does not tell it again.
        return {
          state: o.status,
          change: previous === undefined || previous === o.status ? undefined : o.status,
        }
      case 'pruned':
        return { state: o.status, change: previous === o.status ? undefined : o.status }
    }
  }
}

/** `<env>/<app>` from `release.json`, else from the unit's path (`releases/<env>/<app>`). */
export function appOf(o: UnitOutcome): { env: string; app: string } {
  if (o.release?.env && o.release.app) return { env: o.release.env, app: o.release.app }
  const parts = o.unit.split('/')
  return parts.length >= 2
    ? { env: parts[parts.length - 2], app: parts[parts.length - 1] }
    : { env: '-', app: o.unit }
}

/** One sentence for chat and Events: what happened, to which release, released by whom. */
export function describeChange(change: Change, o: UnitOutcome, cluster: string): string {
  const { env, app } = appOf(o)
  const r = o.release
  const version = r?.version ? ` ${r.version}` : ''
  const where = `${env} (cluster ${cluster})`
  const source = [
    r?.sourceCommit ? `source ${r.sourceCommit.slice(0, 12)}` : undefined,
    r?.releasedBy ? `released by ${r.releasedBy}` : undefined,
    `gitops ${o.commit.slice(0, 12)}`,
  ]
    .filter(Boolean)
    .join(', ')
  switch (change) {
    case 'released':
      return `${app}${version} is applied and healthy in ${where}: ${o.applied} objects, ${source}`
    case 'recovered':
      return `${app}${version} recovered in ${where}: applied and healthy, ${source}`
    case 'failed':
      return `${app}${version} failed in ${where}: ${o.error ?? 'unknown error'} (${source}); the last applied state is kept`
    case 'pruned':
      return `${app} was retired from ${where}: ${o.pruned} objects pruned (${source})`
    case 'orphaned':
      return `${app} is gone from git in ${where}: its objects are left in place (retire an app to remove it)`
  }
}
