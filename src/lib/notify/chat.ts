/**
 * Chat notifications: Slack and Microsoft Teams incoming webhooks, and a generic JSON webhook. The URLs
 * are secrets (whoever has one can post): they come from a file or variable fed by a Secret, and logs name
 * only their host.
 */
import type { Logger } from '../log.js'

export type WebhookKind = 'slack' | 'teams' | 'webhook'

export interface Webhook {
  kind: WebhookKind
  url: string
}

/** One message, in the forms the kinds of webhook take. */
export interface ChatMessage {
  /** One line for people: Slack's and Teams' whole message, and the JSON body's `text`. */
  text: string
  /** The generic webhook's JSON body, besides `text`. */
  fields: Record<string, unknown>
  /** What the message is about, for logs: `unit=… change=…`. */
  about: string
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

/** The body each kind of webhook expects. */
function webhookBody(kind: WebhookKind, message: ChatMessage): unknown {
  const { text } = message
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
  return { ...message.fields, text }
}

/**
 * What to post to: the URL without its `user:pass@` (fetch refuses credentials in a URL, and quotes the
 * URL whole in the error) and the Basic login they stand for, as curl sends them.
 */
function webhookRequest(url: string): { target: string; authorization?: string } {
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
function describeWebhookFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof HttpStatusError) return error.message
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000}s`
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined
  const code = typeof cause?.code === 'string' && /^[A-Z0-9_]+$/.test(cause.code) ? cause.code : ''
  const name = error instanceof Error && /^[A-Za-z]+$/.test(error.name) ? error.name : 'Error'
  return code ? `could not connect (${code})` : `the request failed (${name})`
}

/**
 * Posts `message` to every webhook; a webhook that fails is logged and never fails the caller. Logs
 * name the webhook by its host only, whatever happened.
 */
export async function postToWebhooks(
  hooks: Webhook[],
  message: ChatMessage,
  log: Logger,
  timeoutMs = 10_000,
): Promise<void> {
  await Promise.all(
    hooks.map(async (hook) => {
      const host = new URL(hook.url).host
      try {
        const { target, authorization } = webhookRequest(hook.url)
        const response = await fetch(target, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            ...(authorization ? { Authorization: authorization } : {}),
          },
          body: JSON.stringify(webhookBody(hook.kind, message)),
          signal: AbortSignal.timeout(timeoutMs),
        })
        await response.text()
        if (!response.ok) throw new HttpStatusError(`HTTP ${response.status}`)
        log.debug(`event=notified kind=${hook.kind} host=${host} ${message.about}`)
      } catch (error) {
        log.warn(
          `event=notify-error kind=${hook.kind} host=${host} ${message.about}: ${describeWebhookFailure(error, timeoutMs)}`,
        )
      }
    }),
  )
}
