/**
 * The one Kubernetes client module: every API call of the agent goes through `KubeClient`
 * (@kubernetes/client-node underneath). Errors come back as `KubeError`s that say what was being done,
 * the status code and the server's own message.
 */
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type V1APIResource,
} from '@kubernetes/client-node'
import { createHash } from 'node:crypto'
import type { Agent } from 'node:http'
import type { KubeObject } from '../manifests/yaml.js'

/** The identity of an object. */
export interface ObjectRef {
  apiVersion: string
  kind: string
  name: string
  namespace?: string
}

export function refOf(object: KubeObject): ObjectRef {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
  }
}

export function describeRef(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`
}

/** A failed API call: `code` is the HTTP status (0 when the server could not be reached). */
export class KubeError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason?: string,
  ) {
    super(message)
    this.name = 'KubeError'
  }
}

interface StatusBody {
  message?: string
  reason?: string
}

function toKubeError(what: string, error: unknown, server: string): KubeError {
  if (error instanceof ApiException) {
    const raw = error.body as StatusBody | string | undefined
    let body: StatusBody = {}
    if (typeof raw === 'string') {
      try {
        body = JSON.parse(raw) as StatusBody
      } catch {
        body = { message: raw }
      }
    } else if (raw) {
      body = raw
    }
    const status = body
    return new KubeError(
      `${what}: ${status.message ?? `HTTP ${error.code}`} (${error.code}${status.reason ? ` ${status.reason}` : ''})`,
      error.code,
      status.reason,
    )
  }
  const message = error instanceof Error ? error.message : String(error)
  return new KubeError(`${what}: cannot reach the API server at ${server}: ${message}`, 0)
}

/**
 * client-node 1.x makes a new HTTPS agent (a new TLS connection, the CA read again) for every request.
 * Keeping one agent per set of TLS options lets connections be reused: for 2,000 objects that is the
 * difference between seconds of handshakes and none.
 */
function poolConnections(kc: KubeConfig, maxSockets: number): void {
  type CreateAgent = (cluster: unknown, options: Record<string, unknown>) => Agent
  const target = kc as unknown as { createAgent: CreateAgent }
  const create = target.createAgent.bind(kc)
  const agents = new Map<string, Agent>()
  target.createAgent = (cluster, options) => {
    const key = createHash('sha256').update(JSON.stringify(options)).digest('hex')
    let agent = agents.get(key)
    if (!agent) {
      agent = create(cluster, { ...options, keepAlive: true, maxSockets })
      agents.set(key, agent)
    }
    return agent
  }
}

/** Exposes the discovery that KubernetesObjectApi does for itself (cached per apiVersion). */
class ObjectApi extends KubernetesObjectApi {
  static make(kc: KubeConfig): ObjectApi {
    const api = kc.makeApiClient(ObjectApi)
    api.setDefaultNamespace(kc)
    return api
  }
  findResource(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    return this.resource(apiVersion, kind)
  }
  forget(apiVersion: string): void {
    delete this.apiVersionResourceCache[apiVersion]
  }
}

export interface ApplyOptions {
  fieldManager: string
  force: boolean
  dryRun?: boolean
}

export class KubeClient {
  private constructor(
    private readonly api: ObjectApi,
    /** The server's URL, for messages. */
    readonly server: string,
  ) {}

  /** From a kubeconfig file, else `KUBECONFIG`, `~/.kube/config` or the in-cluster service account. */
  static load(kubeconfig?: string, maxSockets = 32): KubeClient {
    const kc = new KubeConfig()
    if (kubeconfig) kc.loadFromFile(kubeconfig)
    else kc.loadFromDefault()
    poolConnections(kc, maxSockets)
    const cluster = kc.getCurrentCluster()
    if (!cluster)
      throw new KubeError(
        'no Kubernetes cluster is configured (kubeconfig or in-cluster service account)',
        0,
      )
    return new KubeClient(ObjectApi.make(kc), cluster.server)
  }

  /** Whether a kind is namespaced, asking discovery again once when the kind is new (a CRD just applied). */
  async isNamespaced(apiVersion: string, kind: string): Promise<boolean> {
    const what = `discover ${kind} in ${apiVersion}`
    try {
      let resource = await this.api.findResource(apiVersion, kind)
      if (!resource) {
        this.api.forget(apiVersion)
        resource = await this.api.findResource(apiVersion, kind)
      }
      if (!resource)
        throw new KubeError(
          `${what}: the server does not serve ${kind} in ${apiVersion} (is its CRD installed?)`,
          404,
          'NotFound',
        )
      return resource.namespaced
    } catch (error) {
      if (error instanceof KubeError) throw error
      this.api.forget(apiVersion)
      if (error instanceof ApiException && error.code === 404) {
        throw new KubeError(
          `${what}: the server does not serve ${apiVersion} (a removed or not yet installed API?)`,
          404,
          'NotFound',
        )
      }
      throw toKubeError(what, error, this.server)
    }
  }

  /** Server-side apply. */
  async apply(object: KubeObject, options: ApplyOptions): Promise<KubeObject> {
    const what = `apply ${describeRef(refOf(object))}`
    try {
      return await this.api.patch<KubeObject>(
        object,
        undefined,
        options.dryRun ? 'All' : undefined,
        options.fieldManager,
        options.force,
        PatchStrategy.ServerSideApply,
      )
    } catch (error) {
      throw toKubeError(what, error, this.server)
    }
  }

  /** The live object, or undefined when it does not exist. */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await this.api.read<KubeObject>({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace },
      })
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined
      throw toKubeError(`read ${describeRef(ref)}`, error, this.server)
    }
  }

  async create(object: KubeObject): Promise<KubeObject> {
    try {
      return await this.api.create<KubeObject>(object)
    } catch (error) {
      throw toKubeError(`create ${describeRef(refOf(object))}`, error, this.server)
    }
  }

  /** Replaces an object; fails with 409 when its `resourceVersion` is stale. */
  async replace(object: KubeObject): Promise<KubeObject> {
    try {
      return await this.api.replace<KubeObject>(object)
    } catch (error) {
      throw toKubeError(`update ${describeRef(refOf(object))}`, error, this.server)
    }
  }

  /** Deletes an object (dependents in the background); false when it was already gone. */
  async delete(ref: ObjectRef): Promise<boolean> {
    try {
      await this.api.delete(
        {
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, namespace: ref.namespace },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        'Background',
      )
      return true
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return false
      throw toKubeError(`delete ${describeRef(ref)}`, error, this.server)
    }
  }

  /** Objects of a kind, in one namespace or all, matching a label selector. */
  async list(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string } = {},
  ): Promise<KubeObject[]> {
    try {
      const list = await this.api.list(
        apiVersion,
        kind,
        options.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        options.labelSelector,
      )
      return list.items as KubeObject[]
    } catch (error) {
      throw toKubeError(`list ${kind}`, error, this.server)
    }
  }
}
