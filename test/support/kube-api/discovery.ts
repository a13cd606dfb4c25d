/**
 * Discovery documents in their plain (legacy) JSON form. kubectl first asks for aggregated discovery
 * (`application/json;g=apidiscovery.k8s.io;v=v2…`) and falls back to these when the answer is plain
 * JSON, so they are all it takes.
 */
import { createHash } from 'node:crypto'
import { groupVersion, type ResourceDef, type ResourceRegistry } from './resources.js'

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

/** The apiextensions server lists a custom resource's verbs in its own order. */
const CUSTOM_RESOURCE_VERBS = [
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'create',
  'update',
  'watch',
]

/** The verbs a resource answers: Namespaces have no collection delete. */
function verbsOf(def: ResourceDef): string[] {
  if (def.crd) return CUSTOM_RESOURCE_VERBS
  return def.kind === 'Namespace' && !def.group
    ? VERBS.filter((v) => v !== 'deletecollection')
    : VERBS
}

/** The real server's `storageVersionHash`: 8 bytes of the sha256 of `group/version/Kind`, base64. */
function storageVersionHash(def: ResourceDef): string {
  const gvk = `${def.group}/${def.storageVersion ?? def.versions[0]}/${def.kind}`
  return createHash('sha256').update(gvk).digest().subarray(0, 8).toString('base64')
}

/** `GET /version`: a v1.32 server, the version the pinned kubectl speaks. */
export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-kube-api-test',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-12-11T00:00:00Z',
    goVersion: 'go1.23.3',
    compiler: 'gc',
    platform: 'linux/amd64',
  }
}

/** `GET /api`. */
export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  }
}

function groupDocument(name: string, versions: string[]): Record<string, unknown> {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }))
  return { name, versions: entries, preferredVersion: entries[0] }
}

/** `GET /apis`. */
export function groupList(registry: ResourceRegistry): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry.groups().map((g) => groupDocument(g.name, g.versions)),
  }
}

/** `GET /apis/<group>`, or undefined if the group is not served. */
export function group(
  registry: ResourceRegistry,
  name: string,
): Record<string, unknown> | undefined {
  const found = registry.groups().find((g) => g.name === name)
  return (
    found && { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(found.name, found.versions) }
  )
}

function resourceEntries(def: ResourceDef): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: def.plural,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: verbsOf(def),
  }
  if (def.shortNames?.length) main.shortNames = def.shortNames
  if (def.categories?.length) main.categories = def.categories
  main.storageVersionHash = storageVersionHash(def)
  const entries = [main]
  if (def.status) {
    entries.push({
      name: `${def.plural}/status`,
      singularName: '',
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: ['get', 'patch', 'update'],
    })
  }
  if (def.scale) {
    entries.push({
      name: `${def.plural}/scale`,
      singularName: '',
      namespaced: def.namespaced,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    })
  }
  return entries
}

/** `GET /api/v1` or `GET /apis/<group>/<version>`, or undefined if nothing is served there. */
export function resourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const defs = registry.inGroupVersion(group, version)
  if (defs.length === 0 && group !== '') return undefined
  return {
    kind: 'APIResourceList',
    // The core group's list has no apiVersion (as the real server writes it).
    ...(group ? { apiVersion: 'v1' } : {}),
    groupVersion: groupVersion(group, version),
    resources: defs.flatMap(resourceEntries),
  }
}
