/**
 * An in-process Kubernetes API server for tests, speaking the real HTTP protocol well enough for real
 * kubectl and client libraries: discovery, CRUD, server-side apply with managedFields and conflicts,
 * selectors, Tables, watches, finalizers, namespace termination, a workload controller, fault injection.
 *
 *   const server = await startKubeApiServer()
 *   // kubectl --kubeconfig server.kubeconfigPath --cache-dir <tmp> apply --server-side --validate=false …
 *   await server.stop()
 */
export {
  startKubeApiServer,
  type ApiResponse,
  type KubeApiServer,
  type KubeApiServerOptions,
  type ObjectRef,
  type RecordedRequest,
} from './server.js'
export type { FaultRule, Faults } from './faults.js'
export type { KubeObject, ManagedFieldsEntry } from './json.js'
