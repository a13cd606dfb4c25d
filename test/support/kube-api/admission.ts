/**
 * What the real server does to an object before storing it: defaulting (the few defaults controllers
 * and kubectl rely on) and validation (the checks a broken manifest most often trips).
 */
import { invalid, type StatusCause } from './errors.js'
import { asList, deepEqual, isPlainObject, type KubeObject } from './json.js'
import type { ResourceDef } from './resources.js'

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'])

let nextClusterIp = 1

/** Pod specs: container ports get their protocol (kubectl describe prints `80/TCP`). */
function defaultPodSpec(podSpec: unknown): void {
  if (!isPlainObject(podSpec)) return
  for (const list of [podSpec.containers, podSpec.initContainers]) {
    for (const container of asList(list)) {
      for (const port of asList(container?.ports)) if (isPlainObject(port)) port.protocol ??= 'TCP'
    }
  }
}

/** Fills server-side defaults in place. */
export function applyDefaults(
  def: ResourceDef,
  object: KubeObject,
  old: KubeObject | undefined,
): void {
  const spec = isPlainObject(object.spec) ? object.spec : undefined
  defaultPodSpec(def.kind === 'Pod' ? spec : object.spec?.template?.spec)
  defaultPodSpec(object.spec?.jobTemplate?.spec?.template?.spec)
  switch (def.group ? `${def.group}/${def.kind}` : def.kind) {
    case 'Namespace': {
      const meta = (object.metadata ??= {})
      meta.labels = { ...meta.labels, 'kubernetes.io/metadata.name': meta.name ?? '' }
      object.spec = { finalizers: ['kubernetes'], ...spec }
      // Phase is the server's to set: Active until deletion starts.
      object.status = { ...object.status, phase: meta.deletionTimestamp ? 'Terminating' : 'Active' }
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
      if (spec.type !== 'ExternalName') {
        spec.clusterIP ??=
          old?.spec?.clusterIP ?? `10.96.${nextClusterIp >> 8}.${nextClusterIp++ & 255}`
        spec.clusterIPs ??= [spec.clusterIP]
      }
      spec.sessionAffinity ??= 'None'
      if (Array.isArray(spec.ports)) {
        for (const port of spec.ports as Record<string, unknown>[]) {
          port.protocol ??= 'TCP'
          port.targetPort ??= port.port
        }
      }
      break
    }
    case 'apps/Deployment':
      if (!spec) break
      spec.replicas ??= 1
      spec.revisionHistoryLimit ??= 10
      spec.progressDeadlineSeconds ??= 600
      spec.strategy ??= {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
      }
      break
    case 'apps/StatefulSet':
      if (!spec) break
      spec.replicas ??= 1
      spec.revisionHistoryLimit ??= 10
      spec.podManagementPolicy ??= 'OrderedReady'
      // `kubectl rollout status` refuses StatefulSets without a RollingUpdate strategy.
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }
      break
    case 'apps/DaemonSet':
      if (!spec) break
      spec.revisionHistoryLimit ??= 10
      spec.updateStrategy ??= {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
      }
      break
    case 'apps/ReplicaSet':
      if (spec) spec.replicas ??= 1
      break
    case 'batch/Job':
      if (!spec) break
      spec.completions ??= 1
      spec.parallelism ??= 1
      spec.backoffLimit ??= 6
      break
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      object.status = crdStatus(object)
      break
  }
}

/** A CRD is accepted and established at once (there is no name clash to wait for here). */
function crdStatus(crd: KubeObject): Record<string, unknown> {
  const now = crd.metadata?.creationTimestamp
  const versions: any[] = Array.isArray(crd.spec?.versions) ? crd.spec.versions : []
  const storage = versions.find((v) => v?.storage === true)?.name ?? versions[0]?.name
  return {
    acceptedNames: crd.spec?.names ?? {},
    storedVersions: storage ? [storage] : [],
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        reason: 'NoConflicts',
        message: 'no conflicts found',
        lastTransitionTime: now,
      },
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
        lastTransitionTime: now,
      },
    ],
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
