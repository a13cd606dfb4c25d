/**
 * The one Kubernetes client module: every API call of the agent goes through `KubeClient`, with discovery
 * cached per apiVersion (`transport.ts` sends the requests). Errors come back as `KubeError`s that say
 * what was being done, the status code and the server's own message.
 *
 * Why not @kubernetes/client-node: a process using it holds 64-74 MB more memory (its generated models)
 * and its bundle is 16 MB; the agent needs a dozen REST calls, and a small pod (docs/decisions.md).
 */
import { describeRef, refOf, type ObjectRef } from '../manifests/identity.js'
import type { KubeObject } from '../manifests/yaml.js'
import { KubeError } from './errors.js'
import { loadConnection } from './kubeconfig.js'
import { APPLY_PATCH, Transport, type Response } from './transport.js'

export { KubeError }

interface StatusBody {
  kind?: string
  message?: string
  reason?: string
}

interface ApiResource {
  name: string
  kind: string
  namespaced: boolean
}

export interface ApplyOptions {
  fieldManager: string
  force: boolean
  dryRun?: boolean
}

/** `/api/v1[/namespaces/NS]/plural` or `/apis/group/version[/namespaces/NS]/plural`. */
function collectionPath(apiVersion: string, r: ApiResource, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  return `${base}${ns}/${r.name}`
}

export class KubeClient {
  /** Discovery per apiVersion: the resources it serves. */
  private readonly discovery = new Map<string, Promise<ApiResource[]>>()

  private constructor(private readonly transport: Transport) {}

  /** The server's URL, for messages. */
  get server(): string {
    return this.transport.server
  }

  /** From a kubeconfig file, else `KUBECONFIG`, `~/.kube/config` or the in-cluster service account. */
  static load(
    kubeconfig?: string,
    {
      maxSockets = 32,
      requestTimeoutMs = 60_000,
    }: { maxSockets?: number; requestTimeoutMs?: number } = {},
  ): KubeClient {
    return new KubeClient(
      new Transport(loadConnection(kubeconfig), { maxSockets, requestTimeoutMs }),
    )
  }

  /** Closes kept-alive connections (the process can then exit at once). */
  close(): void {
    this.transport.close()
  }

  /** The parsed body of a 2xx answer; a `KubeError` with the server's Status message otherwise. */
  private parse<T>(what: string, response: Response): T {
    let json: unknown
    try {
      json = response.text ? JSON.parse(response.text) : undefined
    } catch {
      json = undefined
    }
    if (response.status >= 200 && response.status < 300) return json as T
    const status = (json ?? {}) as StatusBody
    const message = status.message ?? (response.text.slice(0, 300) || `HTTP ${response.status}`)
    throw new KubeError(
      `${what}: ${message} (${response.status}${status.reason ? ` ${status.reason}` : ''})`,
      response.status,
      status.reason,
    )
  }

  private resources(apiVersion: string): Promise<ApiResource[]> {
    let found = this.discovery.get(apiVersion)
    if (!found) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
      const what = `discover ${apiVersion}`
      found = this.transport.call(what, 'GET', path).then((response) => {
        if (response.status === 404) return []
        return this.parse<{ resources?: ApiResource[] }>(what, response).resources ?? []
      })
      // A failed discovery is asked again next time.
      const mine = found
      found.catch(() => {
        if (this.discovery.get(apiVersion) === mine) this.discovery.delete(apiVersion)
      })
      this.discovery.set(apiVersion, found)
    }
    return found
  }

  private async resource(apiVersion: string, kind: string): Promise<ApiResource> {
    const find = async () =>
      (await this.resources(apiVersion)).find((r) => r.kind === kind && !r.name.includes('/'))
    let found = await find()
    if (!found) {
      // A kind new since discovery was read (a CRD just applied): ask once more.
      this.discovery.delete(apiVersion)
      found = await find()
    }
    if (!found) {
      const served = (await this.resources(apiVersion)).length > 0
      throw new KubeError(
        served
          ? `discover ${kind} in ${apiVersion}: the server does not serve ${kind} in ${apiVersion} (is its CRD installed?)`
          : `discover ${kind} in ${apiVersion}: the server does not serve ${apiVersion} (a removed or not yet installed API?)`,
        404,
        'NotFound',
      )
    }
    return found
  }

  /** Whether a kind is namespaced, asking discovery again once when the kind is new (a CRD just applied). */
  async isNamespaced(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)).namespaced
  }

  /** The collection's path (in `namespace`, or across all for a namespaced kind without one). */
  private async collection(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    return collectionPath(apiVersion, await this.resource(apiVersion, kind), namespace)
  }

  private async objectPath(ref: ObjectRef): Promise<string> {
    const r = await this.resource(ref.apiVersion, ref.kind)
    if (r.namespaced && !ref.namespace)
      throw new KubeError(
        `${describeRef(ref)}: a namespaced object needs a namespace`,
        422,
        'Invalid',
      )
    // The resource found once serves both the check and the path: this runs for every object applied.
    return `${collectionPath(ref.apiVersion, r, ref.namespace)}/${encodeURIComponent(ref.name)}`
  }

  /** Server-side apply; the object as the server now has it. */
  async apply(object: KubeObject, options: ApplyOptions): Promise<KubeObject> {
    const what = `apply ${describeRef(refOf(object))}`
    return this.parse(what, await this.applyCall(what, object, options))
  }

  /** Server-side apply, when the answer is not needed: it is read only for an error. */
  async applyOnly(object: KubeObject, options: ApplyOptions): Promise<void> {
    const what = `apply ${describeRef(refOf(object))}`
    const response = await this.applyCall(what, object, options)
    // A large object's answer is not parsed just to be dropped: thousands are applied in a sync.
    if (response.status < 200 || response.status >= 300) this.parse(what, response)
  }

  private async applyCall(what: string, object: KubeObject, options: ApplyOptions) {
    const query = new URLSearchParams({ fieldManager: options.fieldManager })
    if (options.force) query.set('force', 'true')
    if (options.dryRun) query.set('dryRun', 'All')
    const path = `${await this.objectPath(refOf(object))}?${query}`
    return this.transport.call(what, 'PATCH', path, object, APPLY_PATCH)
  }

  /** The live object, or undefined when it does not exist. */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const what = `read ${describeRef(ref)}`
    const response = await this.transport.call(what, 'GET', await this.objectPath(ref))
    if (response.status === 404) return undefined
    return this.parse(what, response)
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const what = `create ${describeRef(refOf(object))}`
    const ref = refOf(object)
    const path = await this.collection(ref.apiVersion, ref.kind, ref.namespace)
    return this.parse(what, await this.transport.call(what, 'POST', path, object))
  }

  /** Replaces an object; fails with 409 when its `resourceVersion` is stale. */
  async replace(object: KubeObject): Promise<KubeObject> {
    const what = `update ${describeRef(refOf(object))}`
    const path = await this.objectPath(refOf(object))
    return this.parse(what, await this.transport.call(what, 'PUT', path, object))
  }

  /**
   * Deletes an object (dependents in the background); false when it was already gone. With `uid`, only
   * that very object: one deleted and created again since it was read fails with 409.
   */
  async delete(ref: ObjectRef, uid?: string): Promise<boolean> {
    const what = `delete ${describeRef(ref)}`
    const response = await this.transport.call(what, 'DELETE', await this.objectPath(ref), {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Background',
      ...(uid ? { preconditions: { uid } } : {}),
    })
    if (response.status === 404) return false
    this.parse(what, response)
    return true
  }

  /** Objects of a kind, in one namespace or all, matching a label selector. */
  async list(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string } = {},
  ): Promise<KubeObject[]> {
    const what = `list ${kind}`
    const path = await this.collection(apiVersion, kind, options.namespace)
    const items: KubeObject[] = []
    let next: string | undefined
    do {
      // Pages of 500, as kubectl reads: a large list never has to fit in one answer.
      const query = new URLSearchParams({ limit: '500' })
      if (options.labelSelector) query.set('labelSelector', options.labelSelector)
      if (next) query.set('continue', next)
      const page = this.parse<{ items?: KubeObject[]; metadata?: { continue?: string } }>(
        what,
        await this.transport.call(what, 'GET', `${path}?${query}`),
      )
      // A list's items carry no kind or apiVersion: give them theirs.
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind })
      next = page.metadata?.continue || undefined
    } while (next)
    return items
  }
}
