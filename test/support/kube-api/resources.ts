/**
 * The resources the server serves: the built-in ones a GitOps agent meets, plus whatever the stored
 * CustomResourceDefinitions declare. Discovery, routing and the REST handlers all read this registry.
 */
import { asList, type KubeObject } from './json.js'

/** One servable resource. */
export interface ResourceDef {
  /** `''` for the core group. */
  group: string
  /** Served versions, preferred first. Objects are stored once and only relabelled per version. */
  versions: string[]
  plural: string
  singular: string
  kind: string
  namespaced: boolean
  shortNames?: string[]
  categories?: string[]
  /** Has a `/status` subresource: status is ignored on writes to the main resource. */
  status?: boolean
  /** Has a `/scale` subresource (autoscaling/v1 Scale over `spec.replicas`). */
  scale?: boolean
  /** `metadata.generation` is kept and bumped on spec changes. */
  generation?: boolean
  /** A DELETE that removes it at once answers the object (as Pods, Services…), not a Status. */
  returnsDeleted?: boolean
  /** The name of the CustomResourceDefinition that declared it. */
  crd?: string
  /** The version objects are stored in (default: the first of `versions`). */
  storageVersion?: string
}

/** The store and event key of a resource: `apps/deployments`, `/configmaps`. */
export function resourceKey(def: Pick<ResourceDef, 'group' | 'plural'>): string {
  return `${def.group}/${def.plural}`
}

/** The resource key of Namespaces. */
export const NAMESPACES_KEY = '/namespaces'

/** True for apiextensions.k8s.io CustomResourceDefinitions (whose writes change what is served). */
export function isCrd(def: Pick<ResourceDef, 'group' | 'kind'>): boolean {
  return def.group === 'apiextensions.k8s.io' && def.kind === 'CustomResourceDefinition'
}

/** `apps/v1` or `v1`. */
export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version
}

/** Splits `apps/v1` into group and version (`v1` is the core group). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/')
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) }
}

/**
 * `[kind, plural, flags, shortNames]`; flags: `n` namespaced, `s` has /status, `c` has /scale,
 * `g` keeps metadata.generation, `a` in the `all` category (what `kubectl get all` expands), `r` a
 * DELETE answers the deleted object rather than a Status.
 */
type Builtin = [
  kind: string,
  plural: string,
  flags: string,
  shortNames?: string[],
  categories?: string[],
]

function builtins(group: string, version: string, defs: Builtin[]): ResourceDef[] {
  return defs.map(([kind, plural, flags, shortNames, categories]) => ({
    group,
    versions: [version],
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced: flags.includes('n'),
    shortNames,
    categories: flags.includes('a') ? ['all'] : categories,
    status: flags.includes('s'),
    scale: flags.includes('c'),
    generation: flags.includes('g'),
    returnsDeleted: flags.includes('r'),
  }))
}

const BUILTIN: ResourceDef[] = [
  ...builtins('', 'v1', [
    ['Namespace', 'namespaces', 'sr', ['ns']],
    ['ConfigMap', 'configmaps', 'n', ['cm']],
    ['Secret', 'secrets', 'n'],
    ['Service', 'services', 'nsar', ['svc']],
    ['ServiceAccount', 'serviceaccounts', 'nr', ['sa']],
    ['Event', 'events', 'n', ['ev']],
    ['Pod', 'pods', 'nsar', ['po']],
    ['PersistentVolumeClaim', 'persistentvolumeclaims', 'nsr', ['pvc']],
    ['PersistentVolume', 'persistentvolumes', 'sr', ['pv']],
    ['Endpoints', 'endpoints', 'n', ['ep']],
    ['ResourceQuota', 'resourcequotas', 'nsr', ['quota']],
    ['LimitRange', 'limitranges', 'n', ['limits']],
    ['Node', 'nodes', 's', ['no']],
  ]),
  ...builtins('apps', 'v1', [
    ['Deployment', 'deployments', 'nscga', ['deploy']],
    ['StatefulSet', 'statefulsets', 'nscga', ['sts']],
    ['DaemonSet', 'daemonsets', 'nsga', ['ds']],
    ['ReplicaSet', 'replicasets', 'nscga', ['rs']],
    ['ControllerRevision', 'controllerrevisions', 'n'],
  ]),
  ...builtins('batch', 'v1', [
    ['Job', 'jobs', 'nsga'],
    ['CronJob', 'cronjobs', 'nsga', ['cj']],
  ]),
  ...builtins('rbac.authorization.k8s.io', 'v1', [
    ['Role', 'roles', 'n'],
    ['RoleBinding', 'rolebindings', 'n'],
    ['ClusterRole', 'clusterroles', ''],
    ['ClusterRoleBinding', 'clusterrolebindings', ''],
  ]),
  ...builtins('networking.k8s.io', 'v1', [
    ['Ingress', 'ingresses', 'nsg', ['ing']],
    ['NetworkPolicy', 'networkpolicies', 'ng', ['netpol']],
    ['IngressClass', 'ingressclasses', ''],
  ]),
  ...builtins('autoscaling', 'v2', [
    ['HorizontalPodAutoscaler', 'horizontalpodautoscalers', 'nsa', ['hpa']],
  ]),
  ...builtins('policy', 'v1', [['PodDisruptionBudget', 'poddisruptionbudgets', 'nsg', ['pdb']]]),
  ...builtins('coordination.k8s.io', 'v1', [['Lease', 'leases', 'n']]),
  ...builtins('storage.k8s.io', 'v1', [['StorageClass', 'storageclasses', 'r', ['sc']]]),
  ...builtins('apiextensions.k8s.io', 'v1', [
    [
      'CustomResourceDefinition',
      'customresourcedefinitions',
      'sg',
      ['crd', 'crds'],
      ['api-extensions'],
    ],
  ]),
]

/** The groups the server itself serves (core is `''`); CRDs add groups the apiextensions server serves. */
const BUILTIN_GROUPS = new Set(BUILTIN.map((d) => d.group))

/**
 * True for a group of built-in resources. The real server answers a path it has no route for in such a
 * group with a JSON Status; in any other group (a CRD's, or none) with a plain `404 page not found`.
 */
export function isBuiltinGroup(group: string): boolean {
  return BUILTIN_GROUPS.has(group)
}

/** A served API group, for `/apis`. */
export interface ApiGroup {
  name: string
  /** Preferred first. */
  versions: string[]
}

/** Built-ins plus the kinds that stored CRDs declare. */
export class ResourceRegistry {
  private defs: ResourceDef[] = BUILTIN.map((d) => ({ ...d }))

  all(): readonly ResourceDef[] {
    return this.defs
  }

  /** The resource served at `/apis/<group>/<version>/<plural>`. */
  find(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.defs.find(
      (d) => d.group === group && d.plural === plural && d.versions.includes(version),
    )
  }

  /** The resource of a kind, from an object's `apiVersion` and `kind`. */
  byKind(apiVersion: string, kind: string): ResourceDef | undefined {
    const { group, version } = splitApiVersion(apiVersion)
    return this.defs.find(
      (d) => d.group === group && d.kind === kind && d.versions.includes(version),
    )
  }

  /** Resources served at one group/version, for its APIResourceList. */
  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.defs.filter((d) => d.group === group && d.versions.includes(version))
  }

  /** The named groups (not core), each with its versions, preferred first. */
  groups(): ApiGroup[] {
    const byName = new Map<string, Set<string>>()
    for (const d of this.defs) {
      if (!d.group) continue
      const versions = byName.get(d.group) ?? new Set<string>()
      d.versions.forEach((v) => versions.add(v))
      byName.set(d.group, versions)
    }
    return [...byName].map(([name, versions]) => ({
      name,
      versions: [...versions].sort(compareVersionPriority),
    }))
  }

  /**
   * Serves (or re-serves) the kind a CRD declares: served versions from `spec.versions`, scope from
   * `spec.scope`, names from `spec.names`, a status subresource if any version declares one.
   */
  registerCrd(crd: KubeObject): ResourceDef | undefined {
    const spec = crd.spec
    const name = crd.metadata?.name
    if (!name || !spec?.group || !spec?.names?.plural || !spec?.names?.kind) return undefined
    const versions: any[] = Array.isArray(spec.versions) ? spec.versions : []
    const served = versions.filter((v) => v?.served !== false && typeof v?.name === 'string')
    if (served.length === 0) return undefined
    const def: ResourceDef = {
      group: String(spec.group),
      versions: served.map((v) => String(v.name)).sort(compareVersionPriority),
      plural: String(spec.names.plural),
      singular: String(spec.names.singular ?? String(spec.names.kind).toLowerCase()),
      kind: String(spec.names.kind),
      namespaced: spec.scope !== 'Cluster',
      shortNames: Array.isArray(spec.names.shortNames)
        ? asList(spec.names.shortNames).map(String)
        : undefined,
      categories: Array.isArray(spec.names.categories)
        ? asList(spec.names.categories).map(String)
        : undefined,
      status: served.some((v) => v?.subresources?.status !== undefined),
      generation: true,
      crd: name,
      storageVersion: String(
        served.find((v) => v?.storage === true)?.name ??
          versions.find((v) => v?.storage === true)?.name ??
          served[0].name,
      ),
    }
    this.defs = this.defs.filter((d) => d.crd !== name)
    this.defs.push(def)
    return def
  }

  /** Stops serving a CRD's kind; returns what it served so its objects can be dropped. */
  unregisterCrd(name: string): ResourceDef | undefined {
    const def = this.defs.find((d) => d.crd === name)
    this.defs = this.defs.filter((d) => d.crd !== name)
    return def
  }
}

/**
 * Kubernetes' version order: GA before beta before alpha, higher numbers first, then anything else
 * alphabetically (what the real server uses for a group's preferred version).
 */
export function compareVersionPriority(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v)
    if (!m) return [3, 0, 0]
    const level = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2
    return [level, -Number(m[1]), -Number(m[3] ?? 0)]
  }
  const [ra, rb] = [rank(a), rank(b)]
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i]
  return a.localeCompare(b)
}
