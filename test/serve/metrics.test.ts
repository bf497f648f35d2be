import { afterEach, describe, expect, test } from '@jest/globals';
import { recordingLogger } from '../../lib/log.ts';
import { createMetrics, NETWORK_PROGRAMMING_BUCKETS, SYNC_DURATION_BUCKETS } from '../../lib/serve/metrics.ts';
import { startMetricsServer } from '../../lib/serve/metrics-server.ts';
import type { Serving } from '../../lib/serve/http.ts';
import { get } from './helpers.ts';

const KUBE_PROXY_NAMES: [string, string][] = [
  ['kubeproxy_sync_proxy_rules_duration_seconds', 'histogram'],
  ['kubeproxy_sync_full_proxy_rules_duration_seconds', 'histogram'],
  ['kubeproxy_sync_partial_proxy_rules_duration_seconds', 'histogram'],
  ['kubeproxy_network_programming_duration_seconds', 'histogram'],
  ['kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'gauge'],
  ['kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', 'gauge'],
  ['kubeproxy_sync_proxy_rules_endpoint_changes_total', 'counter'],
  ['kubeproxy_sync_proxy_rules_endpoint_changes_pending', 'gauge'],
  ['kubeproxy_sync_proxy_rules_service_changes_total', 'counter'],
  ['kubeproxy_sync_proxy_rules_service_changes_pending', 'gauge'],
  ['kubeproxy_sync_proxy_rules_no_local_endpoints_total', 'gauge'],
  ['kubeproxy_sync_proxy_rules_nftables_sync_failures_total', 'counter'],
  ['kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total', 'counter'],
  ['kubeproxy_proxy_healthz_total', 'counter'],
  ['kubeproxy_proxy_livez_total', 'counter'],
  ['kubeproxy_conntrack_reconciler_sync_duration_seconds', 'histogram'],
  ['kubeproxy_conntrack_reconciler_deleted_entries_total', 'counter'],
];
const SLUICE_NAMES: [string, string][] = [
  ['sluice_services_programmed', 'gauge'],
  ['sluice_endpoints_programmed', 'gauge'],
  ['sluice_transaction_lines', 'histogram'],
  ['sluice_informer_restarts_total', 'counter'],
  ['sluice_objects_skipped', 'gauge'],
];

// No series until first set: a 0 timestamp would claim a sync in 1970, and nothing is skipped yet.
const UNSET_AT_START = new Set([
  'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
  'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
  'sluice_objects_skipped',
]);

let serving: Serving | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

async function scrape(metrics = createMetrics({ processMetrics: false })) {
  serving = startMetricsServer(metrics.registry, { host: '127.0.0.1', port: 0 }, { logger: recordingLogger() });
  const { port } = await serving.listening;
  const text = async () => {
    const r = await get(port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return r.body;
  };
  return { metrics, port, text };
}

/** The value of one sample line, e.g. value(text, 'x_total{kind="Node"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  test('exposes every kube-proxy and sluice metric with its type', async () => {
    const { text } = await scrape();
    const body = await text();
    for (const [name, type] of [...KUBE_PROXY_NAMES, ...SLUICE_NAMES]) {
      expect(body).toContain(`# TYPE ${name} ${type}\n`);
      if (UNSET_AT_START.has(name)) continue;
      expect(body).toMatch(new RegExp(`^${name}(_bucket|_count|_sum)?(\\{[^}]*\\})? `, 'm')); // a sample, not just a header
    }
  });

  test('histograms use kube-proxy\'s buckets', async () => {
    expect(SYNC_DURATION_BUCKETS[0]).toBe(0.001);
    expect(SYNC_DURATION_BUCKETS).toHaveLength(15);
    expect(SYNC_DURATION_BUCKETS[14]).toBeCloseTo(16.384);
    expect(NETWORK_PROGRAMMING_BUCKETS.slice(0, 5)).toEqual([0, 0.25, 0.5, 1, 2]);
    expect(NETWORK_PROGRAMMING_BUCKETS).toContain(59);
    expect(NETWORK_PROGRAMMING_BUCKETS).toContain(115);
    expect(NETWORK_PROGRAMMING_BUCKETS.at(-1)).toBe(300);
    expect(NETWORK_PROGRAMMING_BUCKETS).toHaveLength(81);
    const { text } = await scrape();
    const body = await text();
    expect(body).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.001",ip_family="IPv4"} 0');
    expect(body).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="300",ip_family="IPv4"} 0');
  });

  test('counters, gauges and histograms move when the handles are called', async () => {
    const { metrics: m, text } = await scrape(createMetrics({ processMetrics: false, families: ['IPv4', 'IPv6'] }));
    const before = await text();
    expect(value(before, 'kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBe(0);
    expect(value(before, 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total{ip_family="IPv6"}')).toBe(0);
    expect(value(before, 'sluice_informer_restarts_total{kind="EndpointSlice"}')).toBe(0);

    m.syncProxyRulesDuration.observe({ ip_family: 'IPv4' }, 0.003);
    m.syncFullProxyRulesDuration.observe({ ip_family: 'IPv4' }, 0.003);
    m.syncPartialProxyRulesDuration.observe({ ip_family: 'IPv6' }, 0.0005);
    m.networkProgrammingDuration.observe({ ip_family: 'IPv4' }, 1.5);
    m.syncProxyRulesLastTimestamp.set({ ip_family: 'IPv4' }, 1748779200);
    m.syncProxyRulesLastQueuedTimestamp.set({ ip_family: 'IPv4' }, 1748779199);
    m.endpointChangesTotal.inc(3);
    m.endpointChangesPending.set(2);
    m.serviceChangesTotal.inc();
    m.serviceChangesPending.set(1);
    m.noLocalEndpoints.set({ ip_family: 'IPv4', traffic_policy: 'external' }, 4);
    m.nftablesSyncFailuresTotal.inc({ ip_family: 'IPv6' });
    m.servicesProgrammed.set(12);
    m.endpointsProgrammed.set(40);
    m.transactionLines.observe({ sync: 'full' }, 500);
    m.informerRestartsTotal.inc({ kind: 'EndpointSlice' });

    const after = await text();
    expect(value(after, 'kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"}')).toBe(1);
    expect(value(after, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.002",ip_family="IPv4"}')).toBe(0);
    expect(value(after, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004",ip_family="IPv4"}')).toBe(1);
    expect(value(after, 'kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family="IPv4"}')).toBe(1);
    expect(value(after, 'kubeproxy_sync_partial_proxy_rules_duration_seconds_bucket{le="0.001",ip_family="IPv6"}')).toBe(1);
    expect(value(after, 'kubeproxy_network_programming_duration_seconds_bucket{le="1",ip_family="IPv4"}')).toBe(0);
    expect(value(after, 'kubeproxy_network_programming_duration_seconds_bucket{le="2",ip_family="IPv4"}')).toBe(1);
    expect(value(after, 'kubeproxy_network_programming_duration_seconds_sum{ip_family="IPv4"}')).toBe(1.5);
    expect(value(after, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}')).toBe(1748779200);
    expect(value(after, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family="IPv4"}')).toBe(1748779199);
    expect(value(after, 'kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBe(3);
    expect(value(after, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending')).toBe(2);
    expect(value(after, 'kubeproxy_sync_proxy_rules_service_changes_total')).toBe(1);
    expect(value(after, 'kubeproxy_sync_proxy_rules_service_changes_pending')).toBe(1);
    expect(value(after, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{ip_family="IPv4",traffic_policy="external"}')).toBe(4);
    expect(value(after, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{ip_family="IPv4",traffic_policy="internal"}')).toBe(0);
    expect(value(after, 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total{ip_family="IPv6"}')).toBe(1);
    expect(value(after, 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total{ip_family="IPv4"}')).toBe(0);
    expect(value(after, 'sluice_services_programmed')).toBe(12);
    expect(value(after, 'sluice_endpoints_programmed')).toBe(40);
    expect(value(after, 'sluice_transaction_lines_bucket{le="160",sync="full"}')).toBe(0);
    expect(value(after, 'sluice_transaction_lines_bucket{le="640",sync="full"}')).toBe(1);
    expect(value(after, 'sluice_transaction_lines_count{sync="partial"}')).toBe(0);
    expect(value(after, 'sluice_informer_restarts_total{kind="EndpointSlice"}')).toBe(1);
    expect(value(after, 'sluice_informer_restarts_total{kind="Service"}')).toBe(0);
  });

  test('setObjectsSkipped replaces the skipped counts: fixed objects drop out', async () => {
    const { metrics: m, text } = await scrape();
    m.setObjectsSkipped([
      { kind: 'Service', reason: 'invalid-port', count: 2 },
      { kind: 'EndpointSlice', reason: 'unknown-address-type', count: 1 },
    ]);
    let body = await text();
    expect(value(body, 'sluice_objects_skipped{kind="Service",reason="invalid-port"}')).toBe(2);
    expect(value(body, 'sluice_objects_skipped{kind="EndpointSlice",reason="unknown-address-type"}')).toBe(1);

    m.setObjectsSkipped([{ kind: 'Service', reason: 'invalid-port', count: 1 }]);
    body = await text();
    expect(value(body, 'sluice_objects_skipped{kind="Service",reason="invalid-port"}')).toBe(1);
    expect(value(body, 'sluice_objects_skipped{kind="EndpointSlice",reason="unknown-address-type"}')).toBeUndefined();
  });

  test('each createMetrics has its own registry', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.serviceChangesTotal.inc(5);
    expect(value(await b.registry.metrics(), 'kubeproxy_sync_proxy_rules_service_changes_total')).toBe(0);
    expect(value(await a.registry.metrics(), 'kubeproxy_sync_proxy_rules_service_changes_total')).toBe(5);
  });

  test('process metrics are on by default, like the process_* kube-proxy exposes', async () => {
    const { text } = await scrape(createMetrics());
    expect(await text()).toMatch(/^process_cpu_seconds_total /m);
  });

  test('the metrics port also answers /healthz "ok" and /proxyMode, as kube-proxy\'s does', async () => {
    const { port } = await scrape();
    const healthz = await get(port, '/healthz');
    expect([healthz.status, healthz.body]).toEqual([200, 'ok']);
    const mode = await get(port, '/proxyMode');
    expect([mode.status, mode.body]).toEqual([200, 'nftables']);
    expect((await get(port, '/nope')).status).toBe(404);
  });
});
