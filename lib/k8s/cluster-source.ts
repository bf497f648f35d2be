// The API server as an ObjectSource: Services, EndpointSlices, ServiceCIDRs, this node's Node and
// (when asked) legacy Endpoints, each kept current by its own KindWatcher, filtered on the server
// as kube-proxy filters them (api-paths.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import { COLLECTION_PATHS, selectorsFor, serviceProxyNameSelector } from './api-paths.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';
import type { BackoffOptions } from './backoff.ts';
import { KindWatcher } from './kind-watcher.ts';
import type { SourceLogger } from './kind-watcher.ts';
import type { ObjectKind, ObjectSink, ObjectSource } from '../objects/objects.ts';
import { realClock } from '../clock.ts';
import type { Clock } from '../clock.ts';

export type { SourceLogger } from './kind-watcher.ts';

export interface ClusterSourceOptions {
  kubeConfig: KubeConfig;
  /** This node's name: only its Node object is watched. */
  nodeName: string;
  logger: SourceLogger;
  /**
   * Also watch v1 Endpoints, for Services without EndpointSlices (default false: like kube-proxy,
   * sluice reads EndpointSlices; a cluster's Endpoints are as many objects again, and Kubernetes
   * 1.33 deprecated them). Needs list/watch on endpoints (deploy/rbac-endpoints.yaml).
   */
  watchEndpoints?: boolean;
  /** Serve only Services labelled service.kubernetes.io/service-proxy-name=<this> (default: only those without the label). */
  serviceProxyName?: string;
  /** Objects per list page (default 500). */
  pageSize?: number;
  /** Called for every restart of a failed watch (metrics hook). */
  onRestart?: (kind: ObjectKind, error: unknown) => void;
  timers?: Clock;
  /** Restart delays (default 0.5 s doubling to 30 s). */
  backoff?: BackoffOptions;
  /** A watch up this long before it fails restarts with the shortest delay again (default 60 s). */
  healthyAfterMs?: number;
  /** Gives up on a list request after this long (default 60 s). */
  listTimeoutMs?: number;
}

export class ClusterSource implements ObjectSource {
  #o: ClusterSourceOptions;
  #watchers: KindWatcher[] = [];
  #started = false;

  constructor(opts: ClusterSourceOptions) {
    if (!opts.nodeName) throw new Error('ClusterSource needs the name of this node');
    serviceProxyNameSelector(opts.serviceProxyName); // throws for a name that is not a label value
    this.#o = opts;
  }

  /** Starts the watches and returns; sink.synced(kind) reports when each initial list is in. */
  async start(sink: ObjectSink): Promise<void> {
    if (this.#started) throw new Error('ClusterSource already started');
    this.#started = true;
    const o = this.#o;
    const kinds: { kind: ObjectKind; mayBeAbsent?: boolean }[] = [
      { kind: 'Node' },
      { kind: 'Service' },
      { kind: 'EndpointSlice' },
      // networking.k8s.io/v1 ServiceCIDR is served from Kubernetes 1.33; older clusters answer 404.
      { kind: 'ServiceCIDR', mayBeAbsent: true },
    ];
    if (o.watchEndpoints ?? false) kinds.push({ kind: 'Endpoints' });
    else sink.synced('Endpoints'); // nothing of this kind will come: its (empty) initial state is complete
    for (const { kind, mayBeAbsent } of kinds) {
      const { labelSelector, fieldSelector } = selectorsFor(kind, o);
      this.#watchers.push(new KindWatcher({
        kind,
        mayBeAbsent,
        kubeConfig: o.kubeConfig,
        path: COLLECTION_PATHS[kind],
        labelSelector,
        fieldSelector,
        // Before 1.31 Services cannot be filtered by spec.clusterIP; the model skips headless ones.
        fieldSelectorOptional: kind === 'Service',
        pageSize: o.pageSize,
        sink,
        logger: o.logger,
        timers: o.timers ?? realClock,
        backoff: o.backoff ?? DEFAULT_BACKOFF,
        healthyAfterMs: o.healthyAfterMs ?? 60_000,
        listTimeoutMs: o.listTimeoutMs ?? 60_000,
        onRestart: o.onRestart ?? (() => {}),
      }));
    }
    for (const w of this.#watchers) w.start();
    o.logger.info('watching cluster', { server: o.kubeConfig.getCurrentCluster()?.server, node: o.nodeName, kinds: kinds.map((k) => k.kind), serviceProxyName: o.serviceProxyName });
  }

  /** Stops every watch and pending restart; nothing is left holding the process open. */
  async stop(): Promise<void> {
    await Promise.all(this.#watchers.map((w) => w.stop()));
  }

  /** Restarts so far, per kind watched (for metrics). */
  restarts(): Partial<Record<ObjectKind, number>> {
    return Object.fromEntries(this.#watchers.map((w) => [w.kind, w.restarts]));
  }
}
