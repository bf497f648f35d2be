// Prometheus metrics under kube-proxy's names, so its dashboards and alerts keep working, plus
// sluice's own. Everything lives in a Registry of its own (never prom-client's global one), so tests
// and several instances in one process do not collide.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets, linearBuckets } from 'prom-client';
import { OBJECT_KINDS, type ObjectKind } from '../objects/objects.ts';
import type { IPFamily } from './ip-family.ts';
import { TOPOLOGY_FALLBACK_REASONS, type TopologyChoice, type TopologyMode } from '../model/topology.ts';

export type TrafficPolicyScope = 'internal' | 'external';
export type SyncKind = 'full' | 'partial';

export interface SkippedObjects {
  kind: ObjectKind;
  /** Short, stable, low-cardinality reason ("invalid-port", "unsupported-protocol"), never free text. */
  reason: string;
  count: number;
}

/** One service port's topology, for the topology gauges. */
export interface TopologyServicePort { ip_family: IPFamily; topology: TopologyChoice }

export interface SluiceMetrics {
  registry: Registry;

  // --- kube-proxy's metrics (pkg/proxy/metrics), with the ip_family labels current kube-proxy has ---
  /** Seconds one sync took, full or partial. */
  syncProxyRulesDuration: Histogram<'ip_family'>;
  /** Seconds a full sync (the whole ruleset rewritten) took. */
  syncFullProxyRulesDuration: Histogram<'ip_family'>;
  /** Seconds a partial sync (only changed services) took. */
  syncPartialProxyRulesDuration: Histogram<'ip_family'>;
  /** Seconds from an endpoint change (EndpointSlice's endpoints.kubernetes.io/last-change-trigger-time) to its rules being in the kernel. */
  networkProgrammingDuration: Histogram<'ip_family'>;
  /** Unix seconds of the last successful sync. */
  syncProxyRulesLastTimestamp: Gauge<'ip_family'>;
  /** Unix seconds a sync was last asked for; much later than the last sync means something hangs. */
  syncProxyRulesLastQueuedTimestamp: Gauge<'ip_family'>;
  /** Endpoint (EndpointSlice) changes seen. */
  endpointChangesTotal: Counter;
  /** Endpoint changes seen but not yet synced. */
  endpointChangesPending: Gauge;
  /** Service changes seen. */
  serviceChangesTotal: Counter;
  /** Service changes seen but not yet synced. */
  serviceChangesPending: Gauge;
  /** Services with a Local traffic policy and no local endpoints, by which policy is Local. */
  noLocalEndpoints: Gauge<'ip_family' | 'traffic_policy'>;
  /** nft transactions the kernel refused. */
  nftablesSyncFailuresTotal: Counter<'ip_family'>;
  /** Failed removals of stale chains or sets. */
  nftablesCleanupFailuresTotal: Counter<'ip_family'>;
  /** /healthz answers by HTTP status. */
  proxyHealthzTotal: Counter<'code'>;
  /** /livez answers by HTTP status. */
  proxyLivezTotal: Counter<'code'>;
  /** Seconds one UDP conntrack reconciliation of a family took (listing, deciding, deleting). */
  conntrackReconcilerSyncDuration: Histogram<'ip_family'>;
  /** Stale UDP conntrack entries the reconciler deleted. */
  conntrackReconcilerDeletedEntriesTotal: Counter<'ip_family'>;
  /** Localhost node port listeners open (nodePortAddresses: localhost), kube-proxy 1.37's nftables localhost proxy. */
  localhostNodePortListeners: Gauge<'ip_family'>;
  /** Localhost node ports that could not be opened (the port is taken); each is tried again next sync. */
  localhostNodePortListenerCreationFailuresTotal: Counter<'ip_family'>;

  // --- sluice's own ---
  /** Services in the ruleset last written. */
  servicesProgrammed: Gauge;
  /** Endpoints in the ruleset last written. */
  endpointsProgrammed: Gauge;
  /** Lines of each nft transaction written, by full or partial sync. */
  transactionLines: Histogram<'sync'>;
  /** Watches restarted (expired, dropped or failed) by object kind. */
  informerRestartsTotal: Counter<'kind'>;
  /** What kube-proxy left on this node (tables, chains, IPVS state), by kind, as last looked at (lib/migration). */
  kubeProxyLeftovers: Gauge<'kind'>;
  /** Objects currently left out of the ruleset, by kind and reason; set whole with setObjectsSkipped. */
  objectsSkipped: Gauge<'kind' | 'reason'>;
  /** Replaces objectsSkipped with these counts: reasons not listed drop to absent. */
  setObjectsSkipped(counts: Iterable<SkippedObjects>): void;
  /** Service ports whose cluster endpoints topology hints narrow on this node, by mode (PreferSameNode, PreferSameZone). */
  topologyServicePorts: Gauge<'ip_family' | 'mode'>;
  /** Service ports with hints that went unused, by why: all of them (mode none), or the node hints of a port on PreferSameZone. */
  topologyFallbackServicePorts: Gauge<'ip_family' | 'reason'>;
  /** Sets both topology gauges from the service ports of one model (ports without hints may be left out). */
  setTopology(ports: Iterable<TopologyServicePort>): void;
  /** Connections accepted on localhost node ports, by result: proxied, or endpoint-unreachable (closed). kube-proxy has no such count. */
  localhostNodePortConnectionsTotal: Counter<'ip_family' | 'result'>;
  /** Localhost node port connections being proxied now. */
  localhostNodePortConnectionsActive: Gauge<'ip_family'>;
}

export interface MetricsOptions {
  /** The families sluice proxies; their series start at zero instead of appearing on first use. */
  families?: readonly IPFamily[];
  /** Node's process_* and nodejs_* metrics, like the go_* and process_* kube-proxy exposes. */
  processMetrics?: boolean;
}

// kube-proxy's buckets: 1ms doubling to ~16s for syncs (and the conntrack reconciler)...
export const SYNC_DURATION_BUCKETS = exponentialBuckets(0.001, 2, 15);
// ...and for network programming 0, 0.25s, 0.5s, 1..59s, 60..115s by 5s, 2..5min by 30s (the leading
// 0 comes from component-base's MergeBuckets).
export const NETWORK_PROGRAMMING_BUCKETS = [
  0,
  ...linearBuckets(0.25, 0.25, 2),
  ...linearBuckets(1, 1, 59),
  ...linearBuckets(60, 5, 12),
  ...linearBuckets(120, 30, 7),
];
// A partial sync is tens of lines, a full one on a big cluster hundreds of thousands.
export const TRANSACTION_LINES_BUCKETS = exponentialBuckets(10, 4, 10);

const TOPOLOGY_MODES: readonly TopologyMode[] = ['PreferSameNode', 'PreferSameZone'];

export function createMetrics(opts: MetricsOptions = {}): SluiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  const families = opts.families ?? ['IPv4'];

  const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: L[]) =>
    new Histogram<L>({ name, help, buckets, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });

  const m: SluiceMetrics = {
    registry,
    syncProxyRulesDuration: histogram('kubeproxy_sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', SYNC_DURATION_BUCKETS, ['ip_family']),
    syncFullProxyRulesDuration: histogram('kubeproxy_sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs', SYNC_DURATION_BUCKETS, ['ip_family']),
    syncPartialProxyRulesDuration: histogram('kubeproxy_sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs', SYNC_DURATION_BUCKETS, ['ip_family']),
    networkProgrammingDuration: histogram('kubeproxy_network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', NETWORK_PROGRAMMING_BUCKETS, ['ip_family']),
    syncProxyRulesLastTimestamp: gauge('kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced', ['ip_family']),
    syncProxyRulesLastQueuedTimestamp: gauge('kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued', ['ip_family']),
    endpointChangesTotal: counter('kubeproxy_sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes'),
    endpointChangesPending: gauge('kubeproxy_sync_proxy_rules_endpoint_changes_pending', 'Pending proxy rules Endpoint changes'),
    serviceChangesTotal: counter('kubeproxy_sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes'),
    serviceChangesPending: gauge('kubeproxy_sync_proxy_rules_service_changes_pending', 'Pending proxy rules Service changes'),
    noLocalEndpoints: gauge('kubeproxy_sync_proxy_rules_no_local_endpoints_total', 'Number of services with a Local traffic policy and no endpoints', ['ip_family', 'traffic_policy']),
    nftablesSyncFailuresTotal: counter('kubeproxy_sync_proxy_rules_nftables_sync_failures_total', 'Cumulative proxy nftables sync failures', ['ip_family']),
    nftablesCleanupFailuresTotal: counter('kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total', 'Cumulative proxy nftables cleanup failures', ['ip_family']),
    proxyHealthzTotal: counter('kubeproxy_proxy_healthz_total', 'Cumulative proxy healthz HTTP status', ['code']),
    proxyLivezTotal: counter('kubeproxy_proxy_livez_total', 'Cumulative proxy livez HTTP status', ['code']),
    conntrackReconcilerSyncDuration: histogram('kubeproxy_conntrack_reconciler_sync_duration_seconds', 'ReconcileConntrackFlowsLatency latency in seconds', SYNC_DURATION_BUCKETS, ['ip_family']),
    conntrackReconcilerDeletedEntriesTotal: counter('kubeproxy_conntrack_reconciler_deleted_entries_total', 'Cumulative conntrack flows deleted by conntrack reconciler', ['ip_family']),
    localhostNodePortListeners: gauge('kubeproxy_nftables_localhost_nodeport_listeners', 'Number of localhost NodePort proxy listeners', ['ip_family']),
    localhostNodePortListenerCreationFailuresTotal: counter('kubeproxy_nftables_localhost_nodeport_listener_creation_failures_total', 'Cumulative failures to create localhost NodePort proxy listeners', ['ip_family']),

    servicesProgrammed: gauge('sluice_services_programmed', 'Services in the nftables ruleset last written'),
    endpointsProgrammed: gauge('sluice_endpoints_programmed', 'Endpoints in the nftables ruleset last written'),
    transactionLines: histogram('sluice_transaction_lines', 'Lines of each nft transaction written', TRANSACTION_LINES_BUCKETS, ['sync']),
    informerRestartsTotal: counter('sluice_informer_restarts_total', 'Watches restarted, by object kind', ['kind']),
    localhostNodePortConnectionsTotal: counter('sluice_localhost_nodeport_connections_total', 'Connections accepted on localhost node ports, by result', ['ip_family', 'result']),
    localhostNodePortConnectionsActive: gauge('sluice_localhost_nodeport_connections_active', 'Localhost node port connections being proxied', ['ip_family']),
    kubeProxyLeftovers: gauge('sluice_kube_proxy_leftovers', 'kube-proxy\'s leftovers on this node (nftables tables, iptables chains, IPVS interface, virtual servers, ipsets), by kind', ['kind']),
    objectsSkipped: gauge('sluice_objects_skipped', 'Objects currently left out of the ruleset, by kind and reason', ['kind', 'reason']),
    setObjectsSkipped(counts) {
      m.objectsSkipped.reset();
      for (const c of counts) m.objectsSkipped.inc({ kind: c.kind, reason: c.reason }, c.count);
    },
    topologyServicePorts: gauge('sluice_topology_service_ports', 'Service ports whose cluster endpoints are narrowed by topology hints on this node, by mode', ['ip_family', 'mode']),
    topologyFallbackServicePorts: gauge('sluice_topology_fallback_service_ports', 'Service ports whose topology hints went unused on this node, by reason', ['ip_family', 'reason']),
    setTopology(ports) {
      const using = new Map<string, number>();
      const fallback = new Map<string, number>();
      const bump = (counts: Map<string, number>, k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
      for (const { ip_family, topology } of ports) {
        if (topology.mode !== 'none') bump(using, `${ip_family} ${topology.mode}`);
        if (topology.fallback) bump(fallback, `${ip_family} ${topology.fallback.reason}`);
      }
      // Every family proxied, and every mode and reason, has a series (zero when none); no old count stays.
      m.topologyServicePorts.reset();
      m.topologyFallbackServicePorts.reset();
      const seen = new Set([...families, ...[...using.keys(), ...fallback.keys()].map((k) => k.split(' ')[0] as IPFamily)]);
      for (const ip_family of seen) {
        for (const mode of TOPOLOGY_MODES) m.topologyServicePorts.set({ ip_family, mode }, using.get(`${ip_family} ${mode}`) ?? 0);
        for (const reason of TOPOLOGY_FALLBACK_REASONS) m.topologyFallbackServicePorts.set({ ip_family, reason }, fallback.get(`${ip_family} ${reason}`) ?? 0);
      }
    },
  };

  // Series that exist from the start, so rate() and absent() behave before the first event.
  for (const ip_family of families) {
    for (const h of [m.syncProxyRulesDuration, m.syncFullProxyRulesDuration, m.syncPartialProxyRulesDuration, m.networkProgrammingDuration, m.conntrackReconcilerSyncDuration]) h.zero({ ip_family });
    m.conntrackReconcilerDeletedEntriesTotal.inc({ ip_family }, 0);
    m.nftablesSyncFailuresTotal.inc({ ip_family }, 0);
    m.nftablesCleanupFailuresTotal.inc({ ip_family }, 0);
    for (const traffic_policy of ['internal', 'external'] satisfies TrafficPolicyScope[]) m.noLocalEndpoints.set({ ip_family, traffic_policy }, 0);
    m.localhostNodePortListeners.set({ ip_family }, 0);
    m.localhostNodePortListenerCreationFailuresTotal.inc({ ip_family }, 0);
    m.localhostNodePortConnectionsActive.set({ ip_family }, 0);
    for (const result of ['proxied', 'endpoint-unreachable']) m.localhostNodePortConnectionsTotal.inc({ ip_family, result }, 0);
  }
  m.setTopology([]);
  for (const sync of ['full', 'partial'] satisfies SyncKind[]) m.transactionLines.zero({ sync });
  for (const kind of OBJECT_KINDS) m.informerRestartsTotal.inc({ kind }, 0);
  for (const code of ['200', '503']) {
    m.proxyHealthzTotal.inc({ code }, 0);
    m.proxyLivezTotal.inc({ code }, 0);
  }

  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return m;
}
