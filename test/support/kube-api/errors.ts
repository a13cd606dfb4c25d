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
