/**
 * Watches (`?watch=true`): a chunked stream of `{"type":…,"object":…}` lines, replayed from the store's
 * log after the given resourceVersion, or starting with ADDED events for the current objects when none is
 * given. Enough for client-go's list-then-watch (kubectl rollout status, wait, delete, get -w).
 */
import type { ServerResponse } from 'node:http'
import { statusBody } from './errors.js'
import type { KubeObject } from './json.js'
import { resourceKey } from './resources.js'
import type { Rest, Scope } from './rest.js'
import type { StoreEvent } from './store.js'

/** How a watched object is written out (as is, as a one-row Table, or as metadata). */
export type Render = (object: KubeObject) => KubeObject

/** Streams a watch to `res` until the client leaves, `timeoutSeconds` pass, or the server stops. */
export function serveWatch(
  rest: Rest,
  scope: Scope,
  query: URLSearchParams,
  res: ServerResponse,
  render: Render,
): void {
  const key = resourceKey(scope.def)
  const matches = rest.filter(query)
  const wanted = (e: StoreEvent): boolean =>
    e.resource === key &&
    (scope.namespace === undefined || e.object.metadata?.namespace === scope.namespace) &&
    (scope.name === undefined || e.object.metadata?.name === scope.name) &&
    matches(e.object)
  const send = (type: string, object: KubeObject): void => {
    res.write(`${JSON.stringify({ type, object })}\n`)
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' })
  // Clients wait for the headers before they watch; send them now, not with the first event.
  res.flushHeaders()
  const since = query.get('resourceVersion') ?? ''
  const initial = query.get('sendInitialEvents') === 'true'
  if (since === '' || since === '0' || initial) {
    const current = rest.list({ ...scope }, new URLSearchParams(query)).items as KubeObject[]
    current
      .filter((o) => scope.name === undefined || o.metadata?.name === scope.name)
      .forEach((o) => send('ADDED', render(o)))
    if (initial) {
      send('BOOKMARK', {
        kind: scope.def.kind,
        apiVersion: current[0]?.apiVersion,
        metadata: {
          resourceVersion: String(rest.store.resourceVersion),
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      })
    }
  } else {
    const replay = rest.store.eventsSince(Number(since))
    if (!replay) {
      send(
        'ERROR',
        statusBody(
          410,
          'Expired',
          `too old resource version: ${since} (${rest.store.resourceVersion})`,
        ),
      )
      res.end()
      return
    }
    replay.filter(wanted).forEach((e) => send(e.type, render(rest.present(scope, e.object))))
  }

  const unsubscribe = rest.store.subscribe((e) => {
    if (wanted(e)) send(e.type, render(rest.present(scope, e.object)))
  })
  const timeout = Number(query.get('timeoutSeconds') ?? 0)
  const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined
  res.on('close', () => {
    unsubscribe()
    if (timer) clearTimeout(timer)
  })
}
