// The project's fast Node test API server (test/support/kube-api) and the real kube-apiserver, asked the
// same requests: status codes, Status reasons and details, and the shape of the objects they return. What
// differs today is listed in KNOWN_DRIFT, so a new difference, or one fixed, fails this test.
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { describeCluster, request as clusterRequest, uniqueName } from './support.js'

type Send = (
  method: string,
  path: string,
  init?: { body?: unknown; contentType?: string },
) => Promise<{ status: number; body: any; text: string }>

interface Step {
  name: string
  method: string
  path: string
  body?: unknown
  contentType?: string
  /** What to compare of the answer (default: the whole body, volatile fields blanked). */
  pick?: (body: any, text: string) => unknown
}

const APPLY = 'application/apply-patch+yaml'
const MERGE = 'application/merge-patch+json'

/** The script both servers get; `ns` is a fresh namespace on each. */
function steps(ns: string): Step[] {
  const cms = `/api/v1/namespaces/${ns}/configmaps`
  const deploys = `/apis/apps/v1/namespaces/${ns}/deployments`
  const cm = (data: Record<string, string>, labels?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: ns, ...(labels ? { labels } : {}) },
    data,
  })
  return [
    {
      name: 'create a namespace',
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    },
    {
      name: 'server-side apply creates',
      method: 'PATCH',
      path: `${cms}/settings?fieldManager=alice`,
      body: cm({ color: 'blue' }, { app: 'shop' }),
      contentType: APPLY,
    },
    {
      name: 'the same apply again changes nothing',
      method: 'PATCH',
      path: `${cms}/settings?fieldManager=alice`,
      body: cm({ color: 'blue' }, { app: 'shop' }),
      contentType: APPLY,
    },
    {
      name: 'another manager applying an owned field conflicts',
      method: 'PATCH',
      path: `${cms}/settings?fieldManager=bob`,
      body: cm({ color: 'red' }),
      contentType: APPLY,
    },
    {
      name: 'with force it takes the field over',
      method: 'PATCH',
      path: `${cms}/settings?fieldManager=bob&force=true`,
      body: cm({ color: 'red' }),
      contentType: APPLY,
    },
    {
      name: 'apply without fieldManager is refused',
      method: 'PATCH',
      path: `${cms}/settings`,
      body: cm({ color: 'red' }),
      contentType: APPLY,
    },
    {
      name: 'create of an existing name',
      method: 'POST',
      path: cms,
      body: cm({ color: 'green' }),
    },
    {
      name: 'a missing object',
      method: 'GET',
      path: `${cms}/nothing-here`,
    },
    {
      name: 'an invalid name',
      method: 'POST',
      path: cms,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid' }, data: {} },
    },
    {
      name: 'an invalid Namespace name',
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Not_Valid' } },
    },
    {
      name: 'a Namespace name with dots',
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'has.dots' } },
    },
    {
      name: 'an update with a stale resourceVersion',
      method: 'PUT',
      path: `${cms}/settings`,
      body: { ...cm({ color: 'black' }), metadata: { name: 'settings', resourceVersion: '1' } },
    },
    {
      name: 'a merge patch',
      method: 'PATCH',
      path: `${cms}/settings`,
      body: { data: { size: 'L' } },
      contentType: MERGE,
    },
    {
      name: 'a second ConfigMap, unlabelled',
      method: 'POST',
      path: cms,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' }, data: {} },
    },
    {
      name: 'list with a labelSelector',
      method: 'GET',
      path: `${cms}?labelSelector=app%3Dshop`,
      pick: (b) => ({
        kind: b.kind,
        apiVersion: b.apiVersion,
        hasResourceVersion: typeof b.metadata?.resourceVersion === 'string',
        names: (b.items as any[] | undefined)?.map((i) => i.metadata.name),
        itemKind: b.items?.[0]?.kind,
      }),
    },
    {
      name: 'list with a set-based labelSelector',
      method: 'GET',
      path: `${cms}?labelSelector=app%20notin%20(shop)`,
      pick: (b) => (b.items as any[] | undefined)?.map((i) => i.metadata.name as string).sort(),
    },
    {
      name: 'a Deployment, defaulted',
      method: 'PATCH',
      path: `${deploys}/web?fieldManager=alice`,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [{ name: 'web', image: 'acme/web:1', ports: [{ containerPort: 80 }] }],
            },
          },
        },
      },
      contentType: APPLY,
      // Status is the controllers' (they differ by design); the object as stored is compared.
      pick: (b) => ({ ...b, status: undefined }),
    },
    {
      name: 'a Deployment whose selector does not match its labels',
      method: 'POST',
      path: deploys,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'mismatch' },
        spec: {
          selector: { matchLabels: { app: 'a' } },
          template: {
            metadata: { labels: { app: 'b' } },
            spec: { containers: [{ name: 'c', image: 'x' }] },
          },
        },
      },
    },
    {
      name: 'delete',
      method: 'DELETE',
      path: `${cms}/other`,
    },
    {
      name: 'delete again',
      method: 'DELETE',
      path: `${cms}/other`,
    },
    {
      name: 'an unknown resource',
      method: 'GET',
      path: `/apis/example.com/v1/namespaces/${ns}/widgets`,
      pick: (b, text) => b ?? text.trim(),
    },
  ]
}

/** Blanks what differs between any two servers (or runs): identities, times, versions. */
function normalize(value: unknown, ns: string): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v, ns))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue
      if (
        ['uid', 'resourceVersion', 'creationTimestamp', 'time', 'deletionTimestamp'].includes(k)
      ) {
        out[k] = typeof v
      } else out[k] = normalize(v, ns)
    }
    return out
  }
  if (typeof value === 'string') return value.replaceAll(ns, '<ns>')
  return value
}

async function run(send: Send, ns: string): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {}
  for (const step of steps(ns)) {
    const r = await send(step.method, step.path, {
      body: step.body,
      contentType: step.contentType,
    })
    const picked = step.pick ? step.pick(r.body, r.text) : r.body
    results[step.name] = normalize({ status: r.status, body: picked }, ns)
  }
  return results
}

/** `step: path: node=… real=…` for every leaf that differs. */
function differences(node: unknown, real: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is object => v !== null && typeof v === 'object'
  if (isObj(node) && isObj(real) && Array.isArray(node) === Array.isArray(real)) {
    const keys = new Set([...Object.keys(node), ...Object.keys(real)])
    return [...keys].flatMap((k) =>
      differences(
        (node as Record<string, unknown>)[k],
        (real as Record<string, unknown>)[k],
        Array.isArray(node) ? `${path}[${k}]` : path ? `${path}.${k}` : k,
      ),
    )
  }
  if (JSON.stringify(node) === JSON.stringify(real)) return []
  return [`${path}: node=${JSON.stringify(node)} real=${JSON.stringify(real)}`]
}

/**
 * Where the Node test server answers differently from the real API server (v1.37) today, by step and
 * path, and how. Every difference found must fall under one of these, and each of these must still be
 * found: fix the Node server (test/support/kube-api), then remove its line here.
 */
const KNOWN_DRIFT: Record<string, string> = {
  'create a namespace.body.metadata.managedFields':
    "a create's managedFields hold the server's own defaults (spec.finalizers, status.phase) and miss the '.' of metadata.labels; the real server records what the request set (with the defaulted kubernetes.io/metadata.name label)",
  'another manager applying an owned field conflicts.body':
    'a conflict names an Apply manager as `"alice" using v1`; the real server says `"alice"` (only Update managers get `using <apiVersion> at <time>`); test/integration/kube-api-server.int.test.ts expects the Node wording',
  'a second ConfigMap, unlabelled.body':
    'an empty `data: {}` is stored and owned (manager "unknown"); the real server drops the empty map and records no managedFields',
  'list with a labelSelector.body.itemKind':
    'list items carry kind and apiVersion; the real server leaves them out of items',
  'a Deployment, defaulted.body.metadata.managedFields':
    'spec.selector is owned field by field (the real server owns it whole: LabelSelector is atomic); ports are keyed by containerPort alone (really containerPort+protocol)',
  'a Deployment, defaulted.body.spec.template.spec':
    'no pod template defaults: imagePullPolicy, terminationMessagePath/Policy, resources, restartPolicy, terminationGracePeriodSeconds, dnsPolicy, securityContext, schedulerName',
  'delete.body':
    'DELETE of an object without finalizers answers the object; the real server answers a Status (status Success, details name/kind/uid)',
  'an unknown resource.body':
    "an unknown group/version answers a JSON Status NotFound; the real server answers text/plain '404 page not found'",
}

let node: KubeApiServer

describeCluster('the Node test API server answers like the real one', () => {
  beforeAll(async () => {
    node = await startKubeApiServer()
  })
  afterAll(async () => {
    await node?.stop()
  })

  test('same requests, same answers', async () => {
    const ns = uniqueName('parity')
    const real = await run(clusterRequest, ns)
    const fake = await run((m, p, i) => node.request(m, p, i), ns)
    const found = differences(fake, real)
    const under = (d: string, at: string) => ['.', ':', '['].some((c) => d.startsWith(at + c))
    const known = Object.keys(KNOWN_DRIFT)
    // Everything at once, to read in the failure: new differences, and known ones no longer found.
    expect({
      unexplained: found.filter((d) => !known.some((at) => under(d, at))),
      fixed: known.filter((at) => !found.some((d) => under(d, at))),
    }).toEqual({ unexplained: [], fixed: [] })
  }, 60_000)
})
