/**
 * Kubernetes Events on the agent's own object (its pod, else its Lease) for each unit outcome that changed:
 * `kubectl describe pod` and `kubectl get events -n <agent namespace>` show what was synced or failed.
 */
import { randomBytes } from 'node:crypto'
import { errorMessage } from '../../lib/errors.js'
import type { KubeClient } from '../../lib/kube/client.js'
import type { Logger } from '../../lib/log.js'
import type { UnitOutcome } from '../cycle.js'
import { describeChange, type Change } from './transitions.js'

const REASON: Record<Change, { reason: string; type: 'Normal' | 'Warning' }> = {
  released: { reason: 'Synced', type: 'Normal' },
  recovered: { reason: 'Recovered', type: 'Normal' },
  failed: { reason: 'SyncFailed', type: 'Warning' },
  pruned: { reason: 'Pruned', type: 'Normal' },
  orphaned: { reason: 'Orphaned', type: 'Warning' },
}

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    /** The pod's name when it runs in one (POD_NAME from the downward API). */
    private readonly podName: string | undefined,
    private readonly identity: string,
    private readonly cluster: string,
    private readonly log: Logger,
  ) {}

  async record(change: Change, o: UnitOutcome): Promise<void> {
    const now = new Date().toISOString()
    const { reason, type } = REASON[change]
    const involved = this.podName
      ? { apiVersion: 'v1', kind: 'Pod', name: this.podName }
      : { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'gitops-agent' }
    try {
      await this.client.create({
        apiVersion: 'v1',
        kind: 'Event',
        // Named as Kubernetes' own event recorder names them: the object's name and a unique suffix.
        metadata: {
          name: `${involved.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`,
          namespace: this.namespace,
        },
        involvedObject: { ...involved, namespace: this.namespace },
        reason,
        type,
        // The API server caps an Event's message at 1 KiB.
        message: `${o.unit}: ${describeChange(change, o, this.cluster)}`.slice(0, 1024),
        source: { component: 'gitops-agent' },
        reportingComponent: 'gitops-agent',
        reportingInstance: this.identity,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
    } catch (error) {
      this.log.warn(`event=event-error unit=${o.unit}: ${errorMessage(error)}`)
    }
  }
}
