// Kubernetes Events on Services sluice had to skip, so `kubectl describe service` says why. One
// event per problem as it appears (the sync loop reports each problem once until it changes).
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import type { Problem } from '../model/types.ts';
import { isDNS1123Label } from '../model/validate.ts';

export const INVALID_SERVICE_REASON = 'FailedToProgramService';

export interface ServiceEvents {
  /** Records a Warning event on the Service a problem names; problems of other kinds are ignored. */
  problem(p: Problem): Promise<void>;
}

export function serviceEvents(kc: KubeConfig, nodeName: string, log: Pick<Logger, 'warn'>, now: () => Date = () => new Date()): ServiceEvents {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async problem(p) {
      if (p.kind !== 'Service') return;
      const [namespace, name] = p.object.split('/');
      // An object whose name is itself invalid cannot be the subject of an event.
      if (!isDNS1123Label(namespace) || !isDNS1123Label(name)) return;
      const at = now();
      try {
        await api.createNamespacedEvent({
          namespace,
          body: {
            metadata: { generateName: `${name}.`, namespace },
            involvedObject: { apiVersion: 'v1', kind: 'Service', namespace, name },
            reason: INVALID_SERVICE_REASON,
            message: `sluice on ${nodeName} skipped this Service: ${p.message}`,
            type: 'Warning',
            source: { component: 'sluice', host: nodeName },
            reportingComponent: 'sluice',
            reportingInstance: nodeName,
            firstTimestamp: at,
            lastTimestamp: at,
            count: 1,
          },
        });
      } catch (e) {
        log.warn('could not record an event', { service: p.object, error: (e as Error).message });
      }
    },
  };
}

export type NodeEventType = 'Normal' | 'Warning';

/**
 * Events about this node itself (kube-proxy's leftovers), on the Node as kube-proxy records its own:
 * in the default namespace, the node's name standing for its uid.
 */
export function nodeEvents(kc: KubeConfig, nodeName: string, log: Pick<Logger, 'warn'>, now: () => Date = () => new Date()) {
  const api = kc.makeApiClient(CoreV1Api);
  return async (type: NodeEventType, reason: string, message: string): Promise<void> => {
    const at = now();
    try {
      await api.createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { generateName: `${nodeName}.`, namespace: 'default' },
          involvedObject: { apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeName },
          reason, message, type,
          source: { component: 'sluice', host: nodeName },
          reportingComponent: 'sluice',
          reportingInstance: nodeName,
          firstTimestamp: at,
          lastTimestamp: at,
          count: 1,
        },
      });
    } catch (e) {
      log.warn('could not record an event', { node: nodeName, reason, error: (e as Error).message });
    }
  };
}
