/** Failures answered with a `Status` body, spelled as the real API server spells them. */
import type { ResourceDef } from './resources.js'

export interface StatusCause {
  reason?: string
  message?: string
  field?: string
}

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  causes?: StatusCause[]
  retryAfterSeconds?: number
}

/** An API failure: `code` is the HTTP status, `reason` the `Status.reason` (NotFound, Conflict, …). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message)
  }

  /** The `Status` object clients decode (kubectl prints its message). */
  toStatus(): Record<string, unknown> {
    return statusBody(this.code, this.reason, this.message, this.details)
  }
}

export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 400 ? 'Success' : 'Failure',
    message,
    ...(reason ? { reason } : {}),
    ...(details ? { details } : {}),
    code,
  }
}

/** `deployments.apps`, or `configmaps` for the core group: how messages name a resource. */
export function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural
}

/** `Deployment.apps`: how validation messages name a kind. */
function qualifiedKind(def: ResourceDef): string {
  return def.group ? `${def.kind}.${def.group}` : def.kind
}

export function notFound(def: ResourceDef, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, {
    name,
    group: def.group || undefined,
    kind: def.plural,
  })
}

export function alreadyExists(def: ResourceDef, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, {
    name,
    group: def.group || undefined,
    kind: def.plural,
  })
}

/** Optimistic concurrency: a write carried a resourceVersion that is no longer current. */
export function staleConflict(def: ResourceDef, name: string): ApiError {
  return conflict(
    def,
    name,
    'the object has been modified; please apply your changes to the latest version and try again',
  )
}

export function conflict(def: ResourceDef, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": ${why}`,
    { name, group: def.group || undefined, kind: def.plural },
  )
}

/** 422: `causes` are `{field, message}` pairs such as `{field:'metadata.name', message:'Required value'}`. */
export function invalid(def: ResourceDef, name: string, causes: StatusCause[]): ApiError {
  const list = causes.map((c) => `${c.field}: ${c.message}`)
  const text = list.length === 1 ? list[0] : `[${list.join(', ')}]`
  return new ApiError(422, 'Invalid', `${qualifiedKind(def)} "${name}" is invalid: ${text}`, {
    name,
    group: def.group || undefined,
    kind: def.kind,
    causes,
  })
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message)
}

export function forbidden(def: ResourceDef, name: string, why: string): ApiError {
  return new ApiError(
    403,
    'Forbidden',
    `${qualifiedResource(def)} "${name}" is forbidden: ${why}`,
    {
      name,
      group: def.group || undefined,
      kind: def.plural,
    },
  )
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  )
}

/**
 * The answer to a path that names no resource in a built-in group (the real server's wording). In
 * other groups the real server answers plain text instead (see `PageNotFound`).
 */
export function noSuchResource(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {})
}

/** A path the real server has no route for at all: a plain-text `404 page not found`. */
export class PageNotFound extends Error {
  constructor() {
    super('404 page not found')
  }
}

/** What a DELETE that removed an object at once answers (the object went without waiting). */
export function deletedStatus(def: ResourceDef, name: string, uid: string | undefined) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, ...(def.group ? { group: def.group } : {}), kind: def.plural, uid },
  }
}

/** The RBAC verb of a request: `get`/`list`/`watch`, `create`, `update`, `patch`, `delete`(`collection`). */
function verbOf(method: string, named: boolean, query: URLSearchParams): string {
  switch (method.toUpperCase()) {
    case 'GET':
      return query.get('watch') === 'true' ? 'watch' : named ? 'get' : 'list'
    case 'POST':
      return 'create'
    case 'PUT':
      return 'update'
    case 'PATCH':
      return 'patch'
    case 'DELETE':
      return named ? 'delete' : 'deletecollection'
    default:
      return method.toLowerCase()
  }
}

/**
 * The 403 the real server answers a request RBAC does not allow, from the request's URL alone (no
 * registry: the URL's segments are the resource's plural and name).
 */
export function forbiddenStatus(method: string, url: URL, user: string): Record<string, unknown> {
  const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
  const [group, rest] =
    segs[0] === 'api'
      ? ['', segs.slice(2)]
      : segs[0] === 'apis'
        ? [segs[1], segs.slice(3)]
        : ['', []]
  const namespace = rest[0] === 'namespaces' && rest.length > 2 ? rest[1] : undefined
  const [resource, name] = namespace ? rest.slice(2) : rest
  if (!resource) {
    const message = `forbidden: User "${user}" cannot ${method.toLowerCase()} path "${url.pathname}"`
    return statusBody(403, 'Forbidden', message, {})
  }
  const qualified = group ? `${resource}.${group}` : resource
  const verb = verbOf(method, name !== undefined, url.searchParams)
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'
  const message =
    `${qualified}${name !== undefined ? ` "${name}"` : ''} is forbidden: User "${user}" cannot ${verb} ` +
    `resource "${resource}" in API group "${group}" ${scope}`
  return statusBody(403, 'Forbidden', message, {
    ...(name !== undefined ? { name } : {}),
    group,
    kind: resource,
  })
}
