/**
 * Chat notifications: Slack and Microsoft Teams incoming webhooks, and a generic JSON webhook. The URLs
 * are secrets (whoever has one can post): they come from a file or variable fed by a Secret, and logs name
 * only their host.
 */
import type { Logger } from '../../lib/log.js'
import type { UnitOutcome } from '../cycle.js'
import { appOf, describeChange, type Change } from './transitions.js'

export type WebhookKind = 'slack' | 'teams' | 'webhook'

export interface Webhook {
  kind: WebhookKind
  url: string
}

/**
 * One URL per line; `slack:`, `teams:` or `webhook:` before a URL says its kind, else the host does
 * (hooks.slack.com, Teams' and Power Automate's webhook hosts; anything else gets the JSON body).
 */
export function parseWebhooks(text: string): Webhook[] {
  const hooks: Webhook[] = []
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^(slack|teams|webhook):(https?:\/\/.*)$/.exec(line)
    const url = m ? m[2] : line
    let host: string
    try {
      const parsed = new URL(url)
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error()
      host = parsed.hostname
    } catch {
      // The line itself may be a secret: only its number is told.
      throw new Error(`line ${index + 1} of the webhook list is not an http(s) URL`)
    }
    const kind: WebhookKind = m
      ? (m[1] as WebhookKind)
      : host === 'hooks.slack.com'
        ? 'slack'
        : /(^|\.)(webhook\.office\.com|logic\.azure\.com|powerplatform\.com)$/.test(host)
          ? 'teams'
          : 'webhook'
    hooks.push({ kind, url })
  }
  return hooks
}

const ICON: Record<Change, string> = {
  released: '✅',
  recovered: '✅',
  failed: '❌',
  pruned: '🗑️',
  orphaned: '⚠️',
}

/** The body each kind of webhook expects. */
export function webhookBody(
  kind: WebhookKind,
  change: Change,
  o: UnitOutcome,
  cluster: string,
): unknown {
  const text = `${ICON[change]} ${describeChange(change, o, cluster)}`
  if (kind === 'slack') return { text }
  if (kind === 'teams') {
    return {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [{ type: 'TextBlock', text, wrap: true }],
          },
        },
      ],
    }
  }
  const r = o.release
  return {
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
    text,
  }
}

/**
 * What to post to: the URL without its `user:pass@` (fetch refuses credentials in a URL, and quotes the
 * URL whole in the error) and the Basic login they stand for, as curl sends them.
 */
export function webhookRequest(url: string): { target: string; authorization?: string } {
  const parsed = new URL(url)
  if (parsed.username === '' && parsed.password === '') return { target: url }
  const login = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`
  parsed.username = ''
  parsed.password = ''
  return {
    target: parsed.toString(),
    authorization: `Basic ${Buffer.from(login).toString('base64')}`,
  }
}

class HttpStatusError extends Error {}

/**
 * Why a post failed, in words of our own: error messages from fetch may quote the URL (its path and
 * query are secrets too), so none is passed on, only the HTTP status, a timeout, or the socket's code.
 */
export function describeWebhookFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof HttpStatusError) return error.message
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000}s`
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined
  const code = typeof cause?.code === 'string' && /^[A-Z0-9_]+$/.test(cause.code) ? cause.code : ''
  const name = error instanceof Error && /^[A-Za-z]+$/.test(error.name) ? error.name : 'Error'
  return code ? `could not connect (${code})` : `the request failed (${name})`
}

export class Notifier {
  constructor(
    private readonly hooks: Webhook[],
    private readonly cluster: string,
    private readonly log: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  /**
   * Posts to every webhook; a webhook that fails is logged and never fails the sync. Logs name the
   * webhook by its host only, whatever happened.
   */
  async send(change: Change, o: UnitOutcome): Promise<void> {
    await Promise.all(
      this.hooks.map(async (hook) => {
        const host = new URL(hook.url).host
        try {
          const { target, authorization } = webhookRequest(hook.url)
          const response = await fetch(target, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/json',
              ...(authorization ? { Authorization: authorization } : {}),
            },
            body: JSON.stringify(webhookBody(hook.kind, change, o, this.cluster)),
            signal: AbortSignal.timeout(this.timeoutMs),
          })
          await response.text()
          if (!response.ok) throw new HttpStatusError(`HTTP ${response.status}`)
          this.log.debug(
            `event=notified kind=${hook.kind} host=${host} unit=${o.unit} change=${change}`,
          )
        } catch (error) {
          this.log.warn(
            `event=notify-error kind=${hook.kind} host=${host} unit=${o.unit}: ${describeWebhookFailure(error, this.timeoutMs)}`,
          )
        }
      }),
    )
  }
}
