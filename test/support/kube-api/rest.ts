/**
 * The REST semantics of resources, apart from HTTP: get, list, create, update, patch (apply, merge,
 * strategic, JSON), delete with finalizers, namespace termination and owner garbage collection.
 * Every write goes through `write()`, which keeps system metadata, generation, managedFields and the
 * resourceVersion the way the real server keeps them.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { parse as parseYaml } from 'yaml'
import {
  applyDefaults,
  isEstablished,
  prepareForStorage,
  typedRoundTrip,
  validate,
  zeroValuePaths,
} from './admission.js'
import { applyConfiguration } from './apply.js'
import { Deletion, type Propagation } from './deletion.js'
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  deletedStatus,
  forbidden,
  notFound,
  staleConflict,
} from './errors.js'
import { clone, deepEqual, isPlainObject, timestamp, without, type KubeObject } from './json.js'
import { FieldType } from './field-paths.js'
import { ownershipAfterUpdate, type Writer } from './managed-fields.js'
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js'
import {
  groupVersion,
  isCrd,
  NAMESPACES_KEY,
  resourceKey,
  splitApiVersion,
  type ResourceDef,
  type ResourceRegistry,
} from './resources.js'
import { parseFieldSelector, parseLabelSelector } from './selectors.js'
import type { Store } from './store.js'

/** What a request addresses. */
export interface Scope {
  def: ResourceDef
  /** The version in the URL (objects are relabelled to it). */
  version: string
  namespace?: string
  name?: string
  subresource?: 'status' | 'scale'
}

/** The answer to a write: HTTP code and body. */
export interface Result {
  code: number
  object: KubeObject
}

export interface RestOptions {
  /** How long a deleted Namespace stays `Terminating` before its content and itself go. */
  namespaceDeletionDelayMs: number
  /**
   * How long a new CRD takes to be Established (its kind served); 0 establishes it in the create itself.
   * The delay itself is `CrdController`'s: here it only decides what a create answers.
   */
  crdEstablishDelayMs: number
}

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
]

/** The store key of CustomResourceDefinitions. */
const CRDS_KEY = 'apiextensions.k8s.io/customresourcedefinitions'

/** The 422 the real server answers for bad PatchOptions. */
function invalidPatchOptions(field: string, message: string): ApiError {
  return new ApiError(
    422,
    'Invalid',
    `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${message}`,
    {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      // The reason is the field error's type, as the real server names it (FieldValueRequired, …).
      causes: [
        { reason: `FieldValue${message.split(':')[0].replace(/ value$/, '')}`, message, field },
      ],
    },
  )
}

/** A JSON body (or YAML, for apply), as an object. */
export function parseBody(text: string, yaml = false): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    if (!yaml) throw badRequest(`the body of the request could not be decoded: ${String(error)}`)
  }
  try {
    return parseYaml(text, { version: '1.1' }) as unknown
  } catch (error) {
    throw badRequest(`error decoding YAML: ${String(error)}`)
  }
}

function isDryRun(query: URLSearchParams, options?: Record<string, unknown>): boolean {
  const fromBody = Array.isArray(options?.dryRun) && options.dryRun.includes('All')
  return fromBody || query.getAll('dryRun').includes('All')
}

/** The field manager of a non-apply write: `?fieldManager`, else the user agent's program name. */
function updateManager(query: URLSearchParams, userAgent: string | undefined): string {
  return query.get('fieldManager') || userAgent?.split('/')[0] || 'unknown'
}

/**
 * An item as a list answers it: built-in kinds' items leave out kind and apiVersion (the list says
 * them); custom resources, served unstructured, keep them.
 */
export function typeless(def: ResourceDef, object: KubeObject): KubeObject {
  if (def.crd) return object
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object
  return rest
}

/** `a=b,c=d` from a label selector, as Scale's `status.selector`. */
function selectorString(selector: any): string {
  const labels: Record<string, string> = isPlainObject(selector?.matchLabels)
    ? selector.matchLabels
    : {}
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

export class Rest {
  private readonly deletion: Deletion

  constructor(
    readonly registry: ResourceRegistry,
    readonly store: Store,
    private readonly options: RestOptions,
  ) {
    this.deletion = new Deletion(registry, store, options.namespaceDeletionDelayMs)
  }

  /** Cancels pending namespace terminations (the server is stopping). */
  dispose(): void {
    this.deletion.dispose()
  }

  // Reads

  get(scope: Scope): KubeObject {
    const object = this.require(scope)
    return scope.subresource === 'scale' ? this.toScale(object) : this.present(scope, object)
  }

  /** `matches(object)` for the query's labelSelector and fieldSelector. */
  filter(query: URLSearchParams): (object: KubeObject) => boolean {
    const labels = parseLabelSelector(query.get('labelSelector'))
    const fields = parseFieldSelector(query.get('fieldSelector'))
    return (o) => labels.matches(o) && fields.matches(o)
  }

  /** A `<Kind>List`, honouring selectors and `limit`/`continue` pagination. */
  list(scope: Scope, query: URLSearchParams): KubeObject {
    const matches = this.filter(query)
    let items = this.store.list(resourceKey(scope.def), scope.namespace).filter(matches)
    const token = query.get('continue')
    if (token) {
      let after: string
      try {
        after = String(
          (JSON.parse(Buffer.from(token, 'base64url').toString()) as { after: string }).after,
        )
      } catch {
        throw new ApiError(400, 'BadRequest', 'continue key is not valid')
      }
      items = items.filter((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}` > after)
    }
    const limit = Number(query.get('limit') ?? 0)
    const metadata: Record<string, unknown> = {
      resourceVersion: String(this.store.resourceVersion),
    }
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1]
      const after = `${last.metadata?.namespace ?? ''}/${last.metadata?.name}`
      metadata.continue = Buffer.from(JSON.stringify({ after })).toString('base64url')
      metadata.remainingItemCount = items.length - limit
      items = items.slice(0, limit)
    }
    return {
      kind: `${scope.def.kind}List`,
      apiVersion: groupVersion(scope.def.group, scope.version),
      metadata,
      items: items.map((o) => this.present(scope, o)),
    }
  }

  /** The object as served at the scope's version. */
  present(scope: Pick<Scope, 'def' | 'version'>, object: KubeObject): KubeObject {
    return {
      ...object,
      apiVersion: groupVersion(scope.def.group, scope.version),
      kind: scope.def.kind,
    }
  }

  // Writes

  create(scope: Scope, body: unknown, query: URLSearchParams, userAgent?: string): Result {
    const object = this.checkBody(scope, body)
    const meta = (object.metadata ??= {})
    if (!meta.name && meta.generateName) {
      meta.name = `${meta.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`
    }
    this.assertNamespaceAccepts(scope, meta.name ?? '')
    const named = { ...scope, name: meta.name }
    if (meta.name && this.stored(named)) throw alreadyExists(scope.def, meta.name)
    const writer = this.writer(scope, 'Update', updateManager(query, userAgent))
    return { code: 201, object: this.write(named, undefined, object, writer, isDryRun(query)) }
  }

  update(scope: Scope, body: unknown, query: URLSearchParams, userAgent?: string): Result {
    const old = this.require(scope)
    const writer = this.writer(scope, 'Update', updateManager(query, userAgent))
    if (scope.subresource === 'scale') {
      if (!isPlainObject(body)) throw badRequest('the body of the request must be a Scale object')
      return { code: 200, object: this.scaleTo(scope, old, body, writer, isDryRun(query)) }
    }
    const object = this.checkBody(scope, body)
    this.checkResourceVersion(scope, old, object)
    return { code: 200, object: this.write(scope, old, object, writer, isDryRun(query)) }
  }

  patch(
    scope: Scope,
    contentType: string,
    text: string,
    query: URLSearchParams,
    userAgent?: string,
  ): Result {
    const type = contentType.split(';')[0].trim().toLowerCase()
    if (!PATCH_TYPES.includes(type)) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
      )
    }
    if (type === 'application/apply-patch+yaml') {
      const manager = query.get('fieldManager')
      if (!manager)
        throw invalidPatchOptions('fieldManager', 'Required value: is required for apply patch')
      return this.apply(
        scope,
        parseBody(text, true),
        manager,
        query.get('force') === 'true',
        isDryRun(query),
      )
    }
    if (query.has('force')) {
      throw invalidPatchOptions('force', 'Forbidden: may not be specified for non-apply patch')
    }
    const old = this.require(scope)
    const writer = this.writer(scope, 'Update', updateManager(query, userAgent))
    const base = scope.subresource === 'scale' ? this.toScale(old) : this.present(scope, old)
    const body = parseBody(text)
    const patched =
      type === 'application/json-patch+json'
        ? jsonPatch(base, body)
        : type === 'application/merge-patch+json'
          ? mergePatch(base, body)
          : strategicMergePatch(base, body)
    if (!isPlainObject(patched)) throw badRequest('the patch did not produce an object')
    if (scope.subresource === 'scale') {
      return { code: 200, object: this.scaleTo(scope, old, patched, writer, isDryRun(query)) }
    }
    const object = patched as KubeObject
    if (object.metadata?.name !== scope.name) {
      throw badRequest(
        `the name of the object (${object.metadata?.name}) does not match the name on the URL (${scope.name})`,
      )
    }
    this.checkResourceVersion(scope, old, object)
    return { code: 200, object: this.write(scope, old, object, writer, isDryRun(query)) }
  }

  /** Server-side apply of `body` by `manager` (creates the object if it is missing). */
  apply(scope: Scope, body: unknown, manager: string, force: boolean, dryRun: boolean): Result {
    if (!isPlainObject(body)) throw badRequest('the applied configuration must be an object')
    const config = clone(body) as KubeObject
    if (!config.apiVersion || !config.kind) {
      throw badRequest('apiVersion and kind must be set in an applied configuration')
    }
    if (scope.subresource !== 'scale') this.checkBody(scope, config)
    const old = this.stored(scope)
    if (!old) {
      if (scope.subresource) throw notFound(scope.def, scope.name ?? '')
      this.assertNamespaceAccepts(scope, scope.name ?? '')
    } else {
      this.checkResourceVersion(scope, old, config)
    }
    const writer = this.writer(scope, 'Apply', manager)
    const identity: KubeObject = {
      apiVersion: groupVersion(scope.def.group, scope.version),
      kind: scope.def.kind,
      metadata: { name: scope.name, namespace: scope.namespace },
    }
    // What this endpoint lets a manager own: status only on /status, spec.replicas on /scale.
    let applied: KubeObject
    if (scope.subresource === 'status') applied = { ...identity, status: config.status }
    else if (scope.subresource === 'scale') {
      applied = { ...identity, spec: { replicas: config.spec?.replicas } }
    } else {
      applied = { ...config, ...identity, metadata: { ...config.metadata, ...identity.metadata } }
      if (scope.def.status) delete applied.status
      for (const key of [
        'managedFields',
        'resourceVersion',
        'uid',
        'creationTimestamp',
        'generation',
      ]) {
        delete applied.metadata?.[key]
      }
    }
    const merged = applyConfiguration(old, applied, writer, force, this.fieldType(scope))
    const object = this.write(scope, old, merged, writer, dryRun, true)
    return {
      code: old ? 200 : 201,
      object: scope.subresource === 'scale' ? this.toScale(object) : object,
    }
  }

  /** Apply for tests seeding state: the object's own apiVersion, kind, namespace and name say where. */
  applyObject(object: KubeObject, manager: string, force = true): KubeObject {
    const def = this.registry.byKind(object.apiVersion ?? '', object.kind ?? '')
    if (!def) throw badRequest(`no resource serves ${object.apiVersion} ${object.kind}`)
    const scope: Scope = {
      def,
      version: splitApiVersion(object.apiVersion ?? '').version,
      namespace: def.namespaced ? (object.metadata?.namespace ?? 'default') : undefined,
      name: object.metadata?.name,
    }
    return this.apply(scope, object, manager, force, false).object
  }

  /** A status write (as a controller makes it, operation Update on the status subresource). */
  updateStatus(def: ResourceDef, object: KubeObject, status: unknown, manager: string): void {
    const scope: Scope = {
      def,
      version: def.versions[0],
      namespace: object.metadata?.namespace,
      name: object.metadata?.name,
      subresource: 'status',
    }
    const old = this.stored(scope)
    if (!old) return
    this.write(scope, old, { ...old, status }, this.writer(scope, 'Update', manager), false)
  }

  delete(scope: Scope, text: string, query: URLSearchParams): Result {
    const options = (parseBody(text) ?? {}) as Record<string, any>
    const old = this.require(scope)
    const pre = (isPlainObject(options.preconditions) ? options.preconditions : {}) as {
      uid?: string
      resourceVersion?: string
    }
    if (pre.uid && pre.uid !== old.metadata?.uid) {
      throw conflict(
        scope.def,
        scope.name ?? '',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata?.uid}`,
      )
    }
    if (pre.resourceVersion && pre.resourceVersion !== old.metadata?.resourceVersion) {
      throw conflict(
        scope.def,
        scope.name ?? '',
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata?.resourceVersion}`,
      )
    }
    const orphan = options.orphanDependents === true || query.get('orphanDependents') === 'true'
    const policy = (options.propagationPolicy ??
      query.get('propagationPolicy') ??
      (orphan ? 'Orphan' : 'Background')) as Propagation
    let result: { object: KubeObject; removed: boolean }
    if (isDryRun(query, options)) {
      // What would happen, stored nowhere: with finalizers, a collector's finalizer (Foreground,
      // Orphan), or as a Namespace or CRD, it would stay.
      const stays =
        resourceKey(scope.def) === NAMESPACES_KEY ||
        isCrd(scope.def) ||
        policy !== 'Background' ||
        (old.metadata?.finalizers?.length ?? 0) > 0
      result = { object: old, removed: !stays }
    } else {
      result = this.deletion.deleteObject(scope.def, old, policy)
    }
    // Gone at once: a Status saying so (a few kinds answer the object); else the object as marked.
    const object =
      result.removed && !scope.def.returnsDeleted
        ? deletedStatus(scope.def, scope.name ?? '', old.metadata?.uid)
        : this.present(scope, result.object)
    // 202 when the object stays and the caller asked for its dependents to go first (the real rule).
    const code = !result.removed && options.orphanDependents === false ? 202 : 200
    return { code, object }
  }

  /** `DELETE` on a collection: deletes what the selectors match, answers the List of them. */
  deleteCollection(scope: Scope, text: string, query: URLSearchParams): Result {
    const options = (parseBody(text) ?? {}) as Record<string, any>
    const matches = this.filter(query)
    const victims = this.store.list(resourceKey(scope.def), scope.namespace).filter(matches)
    const dryRun = isDryRun(query, options)
    const policy = (options.propagationPolicy ??
      query.get('propagationPolicy') ??
      'Background') as Propagation
    const items = victims.map((o) =>
      typeless(
        scope.def,
        this.present(scope, dryRun ? o : this.deletion.deleteObject(scope.def, o, policy).object),
      ),
    )
    return {
      code: 200,
      object: {
        kind: `${scope.def.kind}List`,
        apiVersion: groupVersion(scope.def.group, scope.version),
        metadata: { resourceVersion: String(this.store.resourceVersion) },
        items,
      },
    }
  }

  // Internals

  /** The field type of a resource's objects: guessed for built-in kinds, from the CRD's schema else. */
  private fieldType(scope: Pick<Scope, 'def' | 'version'>): FieldType {
    const { def } = scope
    if (!def.crd) return FieldType.builtin()
    const crd = this.store.get(CRDS_KEY, undefined, def.crd)
    const versions: unknown[] = Array.isArray(crd?.spec?.versions) ? crd.spec.versions : []
    const version = versions.find((v) => isPlainObject(v) && v.name === scope.version) as
      { schema?: { openAPIV3Schema?: unknown } } | undefined
    return FieldType.customResource(version?.schema?.openAPIV3Schema)
  }

  private stored(scope: Scope): KubeObject | undefined {
    return scope.name === undefined
      ? undefined
      : this.store.get(resourceKey(scope.def), scope.namespace, scope.name)
  }

  private require(scope: Scope): KubeObject {
    const object = this.stored(scope)
    if (!object) throw notFound(scope.def, scope.name ?? '')
    return object
  }

  private writer(scope: Scope, operation: 'Apply' | 'Update', manager: string): Writer {
    return {
      manager,
      operation,
      subresource: scope.subresource,
      apiVersion: groupVersion(scope.def.group, scope.version),
      now: timestamp(),
    }
  }

  /** Checks a create/update body against the URL: an object of this kind, same name and namespace. */
  private checkBody(scope: Scope, body: unknown): KubeObject {
    if (!isPlainObject(body))
      throw badRequest('the body of the request must be a Kubernetes object')
    const object = clone(body) as KubeObject
    const { def } = scope
    if (object.apiVersion) {
      const { group, version } = splitApiVersion(String(object.apiVersion))
      if (group !== def.group || !def.versions.includes(version)) {
        throw badRequest(
          `the API version in the data (${object.apiVersion}) does not match the expected API version (${groupVersion(def.group, scope.version)})`,
        )
      }
    }
    if (object.kind && object.kind !== def.kind) {
      throw badRequest(
        `the kind in the data (${object.kind}) does not match the expected kind (${def.kind})`,
      )
    }
    const meta = (object.metadata ??= {})
    if (scope.name !== undefined) {
      meta.name ??= scope.name
      if (meta.name !== scope.name) {
        throw badRequest(
          `the name of the object (${meta.name}) does not match the name on the URL (${scope.name})`,
        )
      }
    }
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== scope.namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        )
      }
      meta.namespace = scope.namespace
    }
    return object
  }

  /** A write carrying `metadata.resourceVersion` must carry the current one. */
  private checkResourceVersion(scope: Scope, old: KubeObject, object: KubeObject): void {
    const wanted = object.metadata?.resourceVersion
    if (wanted && wanted !== old.metadata?.resourceVersion)
      throw staleConflict(scope.def, scope.name ?? '')
  }

  /** New content may go into a namespace only if it exists and is not being deleted. */
  private assertNamespaceAccepts(scope: Scope, name: string): void {
    if (!scope.def.namespaced || !scope.namespace) return
    const namespace = this.store.get(NAMESPACES_KEY, undefined, scope.namespace)
    if (!namespace) {
      throw new ApiError(404, 'NotFound', `namespaces "${scope.namespace}" not found`, {
        name: scope.namespace,
        kind: 'namespaces',
      })
    }
    if (namespace.metadata?.deletionTimestamp) {
      const error = forbidden(
        scope.def,
        name,
        `unable to create new content in namespace ${scope.namespace} because it is being terminated`,
      )
      error.details?.causes?.push({
        reason: 'NamespaceTerminating',
        message: `namespace ${scope.namespace} is being terminated`,
        field: 'metadata.namespace',
      })
      throw error
    }
  }

  /**
   * Stores `next` as the new state of `old` (undefined: a create). `ownershipDone` says managedFields
   * were already computed (apply); otherwise the update rules assign them. Returns the object as
   * served; a dry run computes everything and stores nothing.
   */
  private write(
    scope: Scope,
    old: KubeObject | undefined,
    next: KubeObject,
    writer: Writer,
    dryRun: boolean,
    ownershipDone = false,
  ): KubeObject {
    const { def } = scope
    let object = clone(next)
    if (scope.subresource === 'status' && old) {
      // /status changes status only; the rest stays as stored.
      const managed = object.metadata?.managedFields
      object = { ...clone(old), status: object.status }
      if (managed) object.metadata = { ...object.metadata, managedFields: managed }
    } else if (def.status) {
      // The main resource cannot change status (the real server resets it).
      if (old?.status !== undefined) object.status = clone(old.status)
      else delete object.status
    }
    object.apiVersion = groupVersion(def.group, scope.version)
    object.kind = def.kind
    const meta = (object.metadata ??= {})
    if (def.namespaced) meta.namespace = scope.namespace
    else delete meta.namespace
    // System metadata is the server's.
    for (const key of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ] as const) {
      const kept = old?.metadata?.[key]
      if (kept !== undefined) (meta as Record<string, unknown>)[key] = kept
      else delete meta[key]
    }
    if (!old) {
      meta.uid = randomUUID()
      meta.creationTimestamp = timestamp()
    }
    delete meta.resourceVersion
    delete meta.selfLink
    applyDefaults(def, object, old)
    typedRoundTrip(def, object)
    if (!ownershipDone) {
      const base = Array.isArray(meta.managedFields)
        ? meta.managedFields
        : old?.metadata?.managedFields
      // A write tracks only what its endpoint may change: status on /status, the rest elsewhere.
      const ignored = (path: string[]) =>
        def.status === true && (scope.subresource === 'status') !== (path[0] === 'f:status')
      meta.managedFields = ownershipAfterUpdate(
        base,
        old,
        object,
        writer,
        zeroValuePaths(def),
        ignored,
        this.fieldType(scope),
      )
    }
    prepareForStorage(def, object, old, {
      establishCrdsAtOnce: this.options.crdEstablishDelayMs <= 0,
    })
    validate(def, object, old)
    if (meta.managedFields?.length === 0) delete meta.managedFields
    if (def.generation) {
      const specChanged =
        old && !deepEqual(without(old, 'metadata', 'status'), without(object, 'metadata', 'status'))
      meta.generation = old ? (old.metadata?.generation ?? 1) + (specChanged ? 1 : 0) : 1
    }

    // Nothing changed: no write, no new resourceVersion (an unchanged re-apply is a no-op).
    if (old) {
      const sameAs = {
        ...object,
        metadata: { ...meta, resourceVersion: old.metadata?.resourceVersion },
      }
      if (deepEqual(sameAs, old)) return this.present(scope, old)
    }
    // The last finalizer removed from an object being deleted: it goes now.
    // The answer is the object as written (at the deletion's resourceVersion).
    if (old?.metadata?.deletionTimestamp && !meta.finalizers?.length && def.kind !== 'Namespace') {
      if (dryRun) return this.present(scope, object)
      const gone = this.store.remove(resourceKey(def), meta.namespace, meta.name ?? '')
      if (gone) this.deletion.afterRemoval(def, gone, 'Background')
      meta.resourceVersion = gone?.metadata?.resourceVersion
      return this.present(scope, object)
    }
    if (dryRun) {
      if (old) meta.resourceVersion = old.metadata?.resourceVersion
      return this.present(scope, object)
    }
    const stored = this.store.put(resourceKey(def), object)
    // A CRD's kind is served once it is Established (see CrdController), and follows its changes then.
    if (isCrd(def) && isEstablished(stored)) this.registry.registerCrd(stored)
    return this.present(scope, stored)
  }

  /** The autoscaling/v1 Scale view of a workload. */
  private toScale(object: KubeObject): KubeObject {
    const meta = object.metadata ?? {}
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
        creationTimestamp: meta.creationTimestamp,
      },
      spec: { replicas: object.spec?.replicas ?? 0 },
      status: {
        replicas: object.status?.replicas ?? 0,
        selector: selectorString(object.spec?.selector),
      },
    }
  }

  /** A write through `/scale`: only `spec.replicas` moves. */
  private scaleTo(
    scope: Scope,
    old: KubeObject,
    scale: Record<string, any>,
    writer: Writer,
    dryRun: boolean,
  ): KubeObject {
    const wanted = scale.metadata?.resourceVersion
    if (wanted && wanted !== old.metadata?.resourceVersion)
      throw staleConflict(scope.def, scope.name ?? '')
    const replicas: unknown = scale.spec?.replicas
    if (typeof replicas !== 'number' || replicas < 0) {
      throw new ApiError(
        422,
        'Invalid',
        `Scale.autoscaling "${scope.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      )
    }
    const next = clone(old)
    next.spec = { ...next.spec, replicas }
    return this.toScale(this.write({ ...scope, subresource: undefined }, old, next, writer, dryRun))
  }
}
