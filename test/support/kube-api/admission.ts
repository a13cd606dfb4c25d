/**
 * What the real server does to an object before storing it, in its order: defaulting (the API's
 * defaults, applied as the request is decoded, so an Update manager owns them), the typed round trip
 * (built-in kinds lose empty maps and nulls), the registry's strategy (what the server sets on create or
 * update, owned by nobody: a Namespace's finalizer and phase, a Job's selector, a CRD's status) and
 * validation (the checks a broken manifest most often trips).
 */
import { invalid, type StatusCause } from './errors.js'
import { asList, deepEqual, isPlainObject, timestamp, type KubeObject } from './json.js'
import type { ResourceDef } from './resources.js'

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'])

let nextClusterIp = 1

/** `apps/Deployment`, or `Service` for the core group: how the tables below name a kind. */
function kindKey(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.kind}` : def.kind
}

/** The pull policy the server gives a container without one: Always for `:latest` (or no tag). */
function pullPolicy(image: unknown): string {
  const ref = typeof image === 'string' ? image : ''
  const [name, digest] = ref.split('@')
  const last = name.slice(name.lastIndexOf('/') + 1)
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : digest ? '' : 'latest'
  return tag === 'latest' ? 'Always' : 'IfNotPresent'
}

function defaultProbe(probe: unknown): void {
  if (!isPlainObject(probe)) return
  probe.timeoutSeconds ??= 1
  probe.periodSeconds ??= 10
  probe.successThreshold ??= 1
  probe.failureThreshold ??= 3
  if (isPlainObject(probe.httpGet)) {
    probe.httpGet.path ??= '/'
    probe.httpGet.scheme ??= 'HTTP'
  }
}

function defaultFieldRef(holder: unknown): void {
  if (isPlainObject(holder) && isPlainObject(holder.fieldRef)) holder.fieldRef.apiVersion ??= 'v1'
}

function defaultContainer(container: unknown): void {
  if (!isPlainObject(container)) return
  for (const port of asList(container.ports)) if (isPlainObject(port)) port.protocol ??= 'TCP'
  for (const env of asList(container.env)) if (isPlainObject(env)) defaultFieldRef(env.valueFrom)
  defaultProbe(container.livenessProbe)
  defaultProbe(container.readinessProbe)
  defaultProbe(container.startupProbe)
  container.resources ??= {}
  container.terminationMessagePath ??= '/dev/termination-log'
  container.terminationMessagePolicy ??= 'File'
  container.imagePullPolicy ??= pullPolicy(container.image)
}

function defaultVolume(volume: unknown): void {
  if (!isPlainObject(volume)) return
  const sources = Object.keys(volume).filter((k) => k !== 'name')
  if (sources.length === 0) volume.emptyDir = {}
  for (const kind of ['configMap', 'secret', 'downwardAPI', 'projected']) {
    const source = volume[kind]
    if (isPlainObject(source)) source.defaultMode ??= 420
  }
  if (isPlainObject(volume.downwardAPI)) asList(volume.downwardAPI.items).forEach(defaultFieldRef)
  if (isPlainObject(volume.projected)) {
    for (const source of asList(volume.projected.sources)) {
      if (!isPlainObject(source)) continue
      if (isPlainObject(source.downwardAPI))
        asList(source.downwardAPI.items).forEach(defaultFieldRef)
      if (isPlainObject(source.serviceAccountToken)) {
        source.serviceAccountToken.expirationSeconds ??= 3600
      }
    }
  }
  if (isPlainObject(volume.hostPath)) volume.hostPath.type ??= ''
}

/** A pod spec's defaults (`SetDefaults_PodSpec`, `_Container`, `_Volume`, `_Probe`, …). */
function defaultPodSpec(podSpec: unknown): void {
  if (!isPlainObject(podSpec)) return
  for (const list of [podSpec.containers, podSpec.initContainers, podSpec.ephemeralContainers]) {
    asList(list).forEach(defaultContainer)
  }
  asList(podSpec.volumes).forEach(defaultVolume)
  if (podSpec.serviceAccountName === undefined && podSpec.serviceAccount !== undefined) {
    podSpec.serviceAccountName = podSpec.serviceAccount
  }
  if (podSpec.serviceAccountName !== undefined) podSpec.serviceAccount = podSpec.serviceAccountName
  podSpec.restartPolicy ??= 'Always'
  podSpec.terminationGracePeriodSeconds ??= 30
  podSpec.dnsPolicy ??= 'ClusterFirst'
  podSpec.securityContext ??= {}
  podSpec.schedulerName ??= 'default-scheduler'
}

/** A pod template (`spec.template` of workloads): its metadata is always there, its spec defaulted. */
function defaultTemplate(holder: unknown): void {
  if (!isPlainObject(holder) || !isPlainObject(holder.template)) return
  holder.template.metadata ??= {}
  defaultPodSpec(holder.template.spec)
}

/** The label of a DaemonSet's template generation (kept in sync by the real API's conversion). */
const TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation'

/**
 * Fills the API's defaults in place (what the real server does while decoding a request, before field
 * ownership is worked out: an Update manager owns the defaults of what it wrote).
 */
export function applyDefaults(
  def: ResourceDef,
  object: KubeObject,
  old: KubeObject | undefined,
): void {
  const spec = isPlainObject(object.spec) ? object.spec : undefined
  if (def.kind === 'Pod' && !def.group) defaultPodSpec(spec)
  switch (kindKey(def)) {
    case 'Namespace': {
      const meta = (object.metadata ??= {})
      meta.labels = { ...meta.labels, 'kubernetes.io/metadata.name': meta.name ?? '' }
      break
    }
    case 'Secret': {
      // stringData is write-only: the server folds it into data.
      object.type ??= 'Opaque'
      if (isPlainObject(object.stringData)) {
        const data: Record<string, unknown> = { ...object.data }
        for (const [k, v] of Object.entries(object.stringData))
          data[k] = Buffer.from(String(v)).toString('base64')
        object.data = data
        delete object.stringData
      }
      break
    }
    case 'Service': {
      if (!spec) break
      spec.type ??= 'ClusterIP'
      spec.sessionAffinity ??= 'None'
      if (['ClusterIP', 'NodePort', 'LoadBalancer'].includes(String(spec.type))) {
        spec.internalTrafficPolicy ??= 'Cluster'
      }
      if (['NodePort', 'LoadBalancer'].includes(String(spec.type))) {
        spec.externalTrafficPolicy ??= 'Cluster'
      }
      for (const port of asList(spec.ports)) {
        if (!isPlainObject(port)) continue
        port.protocol ??= 'TCP'
        port.targetPort ??= port.port
      }
      break
    }
    case 'PersistentVolumeClaim':
      if (spec) spec.volumeMode ??= 'Filesystem'
      break
    case 'apps/Deployment': {
      if (!spec) break
      defaultTemplate(spec)
      spec.replicas ??= 1
      spec.revisionHistoryLimit ??= 10
      spec.progressDeadlineSeconds ??= 600
      const strategy = (spec.strategy ??= {}) as Record<string, any>
      strategy.type ??= 'RollingUpdate'
      if (strategy.type === 'RollingUpdate') {
        strategy.rollingUpdate ??= {}
        strategy.rollingUpdate.maxUnavailable ??= '25%'
        strategy.rollingUpdate.maxSurge ??= '25%'
      }
      break
    }
    case 'apps/StatefulSet': {
      if (!spec) break
      defaultTemplate(spec)
      spec.replicas ??= 1
      spec.revisionHistoryLimit ??= 10
      spec.podManagementPolicy ??= 'OrderedReady'
      // `kubectl rollout status` refuses StatefulSets without a RollingUpdate strategy.
      const strategy = (spec.updateStrategy ??= {}) as Record<string, any>
      if (strategy.type === undefined) {
        strategy.type = 'RollingUpdate'
        strategy.rollingUpdate ??= {}
      }
      if (strategy.type === 'RollingUpdate' && isPlainObject(strategy.rollingUpdate)) {
        strategy.rollingUpdate.partition ??= 0
        strategy.rollingUpdate.maxUnavailable ??= 1
      }
      const retention = (spec.persistentVolumeClaimRetentionPolicy ??= {}) as Record<string, any>
      retention.whenDeleted ??= 'Retain'
      retention.whenScaled ??= 'Retain'
      for (const claim of asList(spec.volumeClaimTemplates)) {
        if (!isPlainObject(claim)) continue
        claim.apiVersion ??= 'v1'
        claim.kind ??= 'PersistentVolumeClaim'
        if (isPlainObject(claim.spec)) claim.spec.volumeMode ??= 'Filesystem'
        claim.status = { phase: 'Pending', ...(isPlainObject(claim.status) ? claim.status : {}) }
      }
      break
    }
    case 'apps/DaemonSet': {
      if (!spec) break
      defaultTemplate(spec)
      spec.revisionHistoryLimit ??= 10
      const strategy = (spec.updateStrategy ??= {}) as Record<string, any>
      strategy.type ??= 'RollingUpdate'
      if (strategy.type === 'RollingUpdate') {
        strategy.rollingUpdate ??= {}
        strategy.rollingUpdate.maxUnavailable ??= 1
        strategy.rollingUpdate.maxSurge ??= 0
      }
      // The template generation, counted up on each template change.
      const meta = (object.metadata ??= {})
      const was = Number(old?.metadata?.annotations?.[TEMPLATE_GENERATION] ?? 0)
      const changed = !old || !deepEqual(old.spec?.template, spec.template)
      meta.annotations = {
        ...meta.annotations,
        [TEMPLATE_GENERATION]: String(was + (changed ? 1 : 0)),
      }
      break
    }
    case 'apps/ReplicaSet':
      if (!spec) break
      defaultTemplate(spec)
      spec.replicas ??= 1
      break
    case 'batch/Job': {
      if (!spec) break
      defaultTemplate(spec)
      if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1
      spec.parallelism ??= 1
      spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6
      const labels = object.spec?.template?.metadata?.labels
      const meta = (object.metadata ??= {})
      if (isPlainObject(labels) && Object.keys(meta.labels ?? {}).length === 0) {
        meta.labels = { ...labels } as Record<string, string>
      }
      spec.completionMode ??= 'NonIndexed'
      spec.suspend ??= false
      spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed'
      spec.manualSelector ??= false
      break
    }
    case 'batch/CronJob': {
      if (!spec) break
      spec.concurrencyPolicy ??= 'Allow'
      spec.suspend ??= false
      spec.successfulJobsHistoryLimit ??= 3
      spec.failedJobsHistoryLimit ??= 1
      const jobTemplate = (spec.jobTemplate ??= {}) as Record<string, any>
      jobTemplate.metadata ??= {}
      defaultTemplate(jobTemplate.spec)
      break
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      if (!spec) break
      const names = isPlainObject(spec.names) ? spec.names : undefined
      if (typeof names?.kind === 'string') {
        names.singular ??= names.kind.toLowerCase()
        names.listKind ??= `${names.kind}List`
      }
      spec.conversion ??= { strategy: 'None' }
      break
    }
  }
}

/** Go map fields (`omitempty`): an empty one does not survive the server's typed round trip. */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'data',
  'binaryData',
  'stringData',
  'nodeSelector',
  'matchLabels',
  'limits',
  'requests',
  'hard',
  'capacity',
  'allocatable',
])

/** Go slice fields with `omitempty` that manifests often leave empty. */
const LIST_FIELDS = new Set([
  'finalizers',
  'ownerReferences',
  'env',
  'envFrom',
  'ports',
  'volumeMounts',
  'volumeDevices',
  'volumes',
  'args',
  'command',
  'initContainers',
  'imagePullSecrets',
  'tolerations',
  'hostAliases',
  'topologySpreadConstraints',
])

/**
 * What decoding into the kind's Go type and encoding again does to a built-in object (custom resources
 * keep everything): nulls go, and so do empty maps of map-typed fields (`data: {}`, `labels: {}`) and
 * empty lists of `omitempty` slices (`finalizers: []`, `env: []`).
 */
export function typedRoundTrip(def: ResourceDef, object: KubeObject): void {
  if (def.crd) return
  const clean = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(clean)
    if (!isPlainObject(value)) return
    for (const [key, child] of Object.entries(value)) {
      clean(child)
      const mapField = MAP_FIELDS.has(key) || (key === 'selector' && def.kind === 'Service')
      const emptyMap = mapField && isPlainObject(child) && Object.keys(child).length === 0
      const emptyList = LIST_FIELDS.has(key) && Array.isArray(child) && child.length === 0
      if (child === null || emptyMap || emptyList) delete value[key]
    }
  }
  clean(object)
}

/** The template paths of a workload's zero value. */
const TEMPLATE_PATHS = (at: string) => [
  `${at}.template`,
  `${at}.template.metadata`,
  `${at}.template.spec`,
  `${at}.template.spec.containers`,
]

/**
 * Paths the Go zero value of a kind has (non-pointer structs and fields without `omitempty`): they
 * exist before any write, so an update never owns them as new (no `.` for them in managedFields).
 */
const ZERO_VALUE: Record<string, string[]> = {
  Pod: ['spec.containers'],
  Service: ['status.loadBalancer'],
  PersistentVolumeClaim: ['spec.resources'],
  'apps/Deployment': ['spec.selector', 'spec.strategy', ...TEMPLATE_PATHS('spec')],
  'apps/StatefulSet': ['spec.selector', 'spec.updateStrategy', ...TEMPLATE_PATHS('spec')],
  'apps/DaemonSet': ['spec.selector', 'spec.updateStrategy', ...TEMPLATE_PATHS('spec')],
  'apps/ReplicaSet': ['spec.selector', ...TEMPLATE_PATHS('spec')],
  'batch/Job': TEMPLATE_PATHS('spec'),
  'batch/CronJob': [
    'spec.jobTemplate',
    'spec.jobTemplate.metadata',
    'spec.jobTemplate.spec',
    ...TEMPLATE_PATHS('spec.jobTemplate.spec'),
  ],
  'rbac.authorization.k8s.io/Role': ['rules'],
  'rbac.authorization.k8s.io/ClusterRole': ['rules'],
  'rbac.authorization.k8s.io/RoleBinding': ['roleRef'],
  'rbac.authorization.k8s.io/ClusterRoleBinding': ['roleRef'],
  'networking.k8s.io/NetworkPolicy': ['spec.podSelector'],
  'autoscaling/HorizontalPodAutoscaler': ['spec.scaleTargetRef'],
  'apiextensions.k8s.io/CustomResourceDefinition': [
    'spec.names',
    'spec.versions',
    'status.acceptedNames',
    'status.conditions',
    'status.storedVersions',
  ],
}

/**
 * The zero-value paths of a kind, as `JSON.stringify(['f:spec', 'f:template'])` (see `changedPaths`).
 * Custom resources are unstructured: theirs is empty.
 */
export function zeroValuePaths(def: ResourceDef): Set<string> {
  if (def.crd) return new Set()
  const dotted = ['spec', 'status', ...(ZERO_VALUE[kindKey(def)] ?? [])]
  return new Set(dotted.map((p) => JSON.stringify(p.split('.').map((f) => `f:${f}`))))
}

/** The conditions of a CRD as the API server's controllers write them. */
export function crdCondition(
  type: string,
  status: string,
  reason: string,
  message: string,
  at = timestamp(),
): Record<string, unknown> {
  return { type, status, lastTransitionTime: at, reason, message }
}

/** The names a CRD's kind is served under (`status.acceptedNames`). */
export function acceptedNames(crd: KubeObject): Record<string, unknown> {
  const names = isPlainObject(crd.spec?.names) ? crd.spec.names : {}
  return { ...names }
}

/** The storage versions a CRD has had (`status.storedVersions`): the current one added. */
function storedVersions(crd: KubeObject, before: unknown): string[] {
  const versions: any[] = Array.isArray(crd.spec?.versions) ? crd.spec.versions : []
  const storage = (versions.find((v) => v?.storage === true)?.name ?? versions[0]?.name) as
    string | undefined
  const stored = Array.isArray(before) ? before.map(String) : []
  return storage && !stored.includes(storage) ? [...stored, storage] : stored
}

/** True once a CRD's Established condition is True: its kind is served. */
export function isEstablished(crd: KubeObject | undefined): boolean {
  return asList(crd?.status?.conditions).some(
    (c) => c?.type === 'Established' && c?.status === 'True',
  )
}

/** What the registry strategy and the server's own controllers do that no caller owns. */
export interface StrategyOptions {
  /** A new CRD is established at once (no naming controller delay). */
  establishCrdsAtOnce: boolean
}

/**
 * The registry's strategy (`PrepareForCreate`/`PrepareForUpdate`): what the server sets after field
 * ownership is worked out, so no manager owns it.
 */
export function prepareForStorage(
  def: ResourceDef,
  object: KubeObject,
  old: KubeObject | undefined,
  options: StrategyOptions,
): void {
  const spec = isPlainObject(object.spec) ? object.spec : undefined
  // A built-in kind's status is a struct: a new object has one, if empty.
  if (!old && def.status && !def.crd) object.status ??= {}
  switch (kindKey(def)) {
    case 'Namespace':
      object.spec = { finalizers: ['kubernetes'], ...spec }
      // Phase is the server's to set: Active until deletion starts.
      object.status = {
        ...object.status,
        phase: object.metadata?.deletionTimestamp ? 'Terminating' : 'Active',
      }
      break
    case 'Service': {
      if (!old) object.status = { loadBalancer: {}, ...object.status }
      if (!spec || spec.type === 'ExternalName') break
      spec.clusterIP ??=
        old?.spec?.clusterIP ?? `10.96.${nextClusterIp >> 8}.${nextClusterIp++ & 255}`
      spec.clusterIPs ??= old?.spec?.clusterIPs ?? [spec.clusterIP]
      spec.ipFamilies ??= old?.spec?.ipFamilies ?? ['IPv4']
      spec.ipFamilyPolicy ??= old?.spec?.ipFamilyPolicy ?? 'SingleStack'
      break
    }
    case 'batch/Job': {
      // A Job's pods are selected by its uid (unless it chose its own selector).
      if (!spec || old || spec.manualSelector === true) break
      const uid = object.metadata?.uid ?? ''
      const generated = {
        'batch.kubernetes.io/controller-uid': uid,
        'batch.kubernetes.io/job-name': object.metadata?.name ?? '',
        'controller-uid': uid,
        'job-name': object.metadata?.name ?? '',
      }
      const template = (spec.template ??= {}) as Record<string, any>
      const templateMeta = (template.metadata ??= {}) as Record<string, any>
      const meta = (object.metadata ??= {})
      // Defaulted labels are the template's own map in the real server: they get the same labels.
      const shared = deepEqual(meta.labels, templateMeta.labels)
      templateMeta.labels = { ...templateMeta.labels, ...generated }
      if (shared) meta.labels = { ...templateMeta.labels }
      spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } }
      break
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      if (!old) {
        object.status = options.establishCrdsAtOnce
          ? {
              conditions: [
                crdCondition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
                crdCondition(
                  'Established',
                  'True',
                  'InitialNamesAccepted',
                  'the initial names have been accepted',
                ),
              ],
              acceptedNames: acceptedNames(object),
              storedVersions: storedVersions(object, undefined),
            }
          : {
              // As the real server answers a create: its controllers accept the names a moment later.
              conditions: null,
              acceptedNames: { plural: '', kind: '' },
              storedVersions: storedVersions(object, undefined),
            }
        break
      }
      const status = isPlainObject(object.status) ? object.status : {}
      object.status = {
        ...status,
        ...(isEstablished(object) ? { acceptedNames: acceptedNames(object) } : {}),
        storedVersions: storedVersions(object, status.storedVersions),
      }
      break
    }
  }
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

function nameCauses(def: ResourceDef, name: string | undefined): StatusCause[] {
  if (!name) {
    return [
      {
        reason: 'FieldValueRequired',
        field: 'metadata.name',
        message: 'Required value: name or generateName is required',
      },
    ]
  }
  // RBAC names are path segments (`system:aggregate-to-view` is fine); others are DNS names.
  if (def.group === 'rbac.authorization.k8s.io') {
    return /[/%]/.test(name) || name === '.' || name === '..'
      ? [
          {
            reason: 'FieldValueInvalid',
            field: 'metadata.name',
            message: `Invalid value: "${name}": may not contain '/' or '%'`,
          },
        ]
      : []
  }
  if (
    def.kind === 'Namespace'
      ? LABEL.test(name) && name.length <= 63
      : SUBDOMAIN.test(name) && name.length <= 253
  ) {
    return []
  }
  // The real server's wording (apimachinery's validation.IsDNS1123Label/Subdomain and RegexError).
  const rule =
    def.kind === 'Namespace' && !LABEL.test(name) && SUBDOMAIN.test(name)
      ? 'must not contain dots'
      : def.kind === 'Namespace'
        ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
  return [
    {
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
      message: `Invalid value: "${name}": ${rule}`,
    },
  ]
}

function workloadCauses(object: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const causes: StatusCause[] = []
  const selector = object.spec?.selector
  const templateLabels = object.spec?.template?.metadata?.labels ?? {}
  if (!isPlainObject(selector)) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' })
  } else {
    const wanted = isPlainObject(selector.matchLabels) ? selector.matchLabels : {}
    if (!Object.entries(wanted).every(([k, v]) => templateLabels[k] === v)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        message: `Invalid value: ${JSON.stringify(templateLabels)}: \`selector\` does not match template \`labels\``,
      })
    }
    if (old && !deepEqual(old.spec?.selector, selector)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.selector',
        message: `Invalid value: ${JSON.stringify(selector)}: field is immutable`,
      })
    }
  }
  const containers: unknown = object.spec?.template?.spec?.containers
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({
      reason: 'FieldValueRequired',
      field: 'spec.template.spec.containers',
      message: 'Required value',
    })
  } else {
    containers.forEach((c: any, i) => {
      if (!c?.name)
        causes.push({
          reason: 'FieldValueRequired',
          field: `spec.template.spec.containers[${i}].name`,
          message: 'Required value',
        })
      if (!c?.image)
        causes.push({
          reason: 'FieldValueRequired',
          field: `spec.template.spec.containers[${i}].image`,
          message: 'Required value',
        })
    })
  }
  return causes
}

/** Throws the 422 Invalid Status if the object would be refused by the real server for these reasons. */
export function validate(def: ResourceDef, object: KubeObject, old: KubeObject | undefined): void {
  const name = object.metadata?.name
  const causes = nameCauses(def, name)
  if (def.group === 'apps' && WORKLOADS.has(def.kind)) causes.push(...workloadCauses(object, old))
  if (def.kind === 'CustomResourceDefinition' && name) {
    const expected = `${object.spec?.names?.plural}.${object.spec?.group}`
    if (name !== expected) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group`,
      })
    }
  }
  if (causes.length > 0) throw invalid(def, name ?? '', causes)
}
