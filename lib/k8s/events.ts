// Kubernetes Events on Services sluice had to skip, so `kubectl describe service` says why. One
// event per problem as it appears (the sync loop reports each problem once until it changes). And, as
// kube-proxy, an event on a Service whose health-check node port cannot be opened on this node.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import type { Problem } from '../model/types.ts';
import { isDNS1123Label } from '../model/validate.ts';

export const INVALID_SERVICE_REASON = 'FailedToProgramService';
/** kube-proxy's reason (pkg/proxy/healthcheck/service_health.go). */
export const HEALTHCHECK_FAILED_REASON = 'FailedToStartServiceHealthcheck';

export interface ServiceEvents {
  /** Records a Warning event on the Service a problem names; problems of other kinds are ignored. */
  problem(p: Problem): Promise<void>;
  /**
   * Records a Warning event on the Service whose health-check node port could not be opened. Retries
   * fail every sync: the same service, port and error give one event, a new error a new one.
   */
  healthCheckFailed(namespace: string, name: string, port: number, error: Error): Promise<void>;
}

/** The Event sluice records about an object, as kube-proxy records its own: reported by sluice on this node. */
function eventBody(nodeName: string, namespace: string, involvedObject: Record<string, string>, type: string, reason: string, message: string, at: Date) {
  return {
    metadata: { generateName: `${involvedObject.name}.`, namespace },
    involvedObject, reason, message, type,
    source: { component: 'sluice', host: nodeName },
    reportingComponent: 'sluice',
    reportingInstance: nodeName,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

export function serviceEvents(kc: KubeConfig, nodeName: string, log: Pick<Logger, 'warn'>, now: () => Date = () => new Date()): ServiceEvents {
  const api = kc.makeApiClient(CoreV1Api);
  const record = async (namespace: string, name: string, reason: string, message: string) => {
    // An object whose name is itself invalid cannot be the subject of an event.
    if (!isDNS1123Label(namespace) || !isDNS1123Label(name)) return;
    try {
      const involved = { apiVersion: 'v1', kind: 'Service', namespace, name };
      await api.createNamespacedEvent({ namespace, body: eventBody(nodeName, namespace, involved, 'Warning', reason, message, now()) });
    } catch (e) {
      log.warn('could not record an event', { service: `${namespace}/${name}`, error: (e as Error).message });
    }
  };
  const healthCheckSeen = new Set<string>();
  return {
    async problem(p) {
      if (p.kind !== 'Service') return;
      const [namespace, name] = p.object.split('/');
      const what = p.scope === 'field' ? 'ignored a field of this Service' : 'skipped this Service';
      await record(namespace, name, INVALID_SERVICE_REASON, `sluice on ${nodeName} ${what}: ${p.message}`);
    },
    async healthCheckFailed(namespace, name, port, error) {
      const key = `${namespace}/${name} ${port} ${error.message}`;
      if (healthCheckSeen.has(key)) return;
      healthCheckSeen.add(key);
      // kube-proxy's wording, so that what people look for still matches.
      await record(namespace, name, HEALTHCHECK_FAILED_REASON, `node ${nodeName} failed to start healthcheck "${namespace}/${name}" on port ${port}: ${error.message}`);
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
    try {
      const involved = { apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeName };
      await api.createNamespacedEvent({ namespace: 'default', body: eventBody(nodeName, 'default', involved, type, reason, message, now()) });
    } catch (e) {
      log.warn('could not record an event', { node: nodeName, reason, error: (e as Error).message });
    }
  };
}
