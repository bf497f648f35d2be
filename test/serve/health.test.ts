import { afterEach, describe, expect, test } from '@jest/globals';
import { recordingLogger } from '../../lib/log.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { createProxyHealth, healthTimeoutFor, isNodeEligible, startHealthServer, TO_BE_DELETED_TAINT } from '../../lib/serve/health.ts';
import { createMetrics } from '../../lib/serve/metrics.ts';
import type { Serving } from '../../lib/serve/http.ts';
import { fakeClock, get, getJson } from './helpers.ts';

const SYNC_PERIOD_MS = 30_000;
const ZERO_TIME = '0001-01-01T00:00:00Z';

const node = (extra: { deletionTimestamp?: string; taints?: unknown[] } = {}): KubeObject => ({
  kind: 'Node',
  metadata: { name: 'n1', deletionTimestamp: extra.deletionTimestamp },
  spec: { taints: extra.taints ?? [] },
});

let serving: Serving | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

async function start(opts: { families?: ('IPv4' | 'IPv6')[] } = {}) {
  const clock = fakeClock();
  const health = createProxyHealth({ healthTimeoutMs: healthTimeoutFor(SYNC_PERIOD_MS), now: clock.now, families: opts.families });
  const metrics = createMetrics({ processMetrics: false });
  serving = startHealthServer(health, { host: '127.0.0.1', port: 0 }, { logger: recordingLogger(), counters: metrics });
  const { port } = await serving.listening;
  return { clock, health, metrics, port };
}

describe('/healthz and /livez', () => {
  test('a fresh proxy answers 200 with kube-proxy\'s JSON fields', async () => {
    const { clock, port } = await start();
    const healthz = await getJson(port, '/healthz');
    expect(healthz.status).toBe(200);
    expect(healthz.headers['content-type']).toBe('application/json');
    expect(healthz.headers['x-content-type-options']).toBe('nosniff');
    const now = clock.now().toISOString();
    expect(healthz.json).toEqual({ lastUpdated: now, currentTime: now, nodeEligible: true, healthy: true });

    const livez = await getJson(port, '/livez');
    expect(livez.status).toBe(200);
    expect(livez.json).toEqual({ lastUpdated: now, currentTime: now, healthy: true });
    expect(livez.json).not.toHaveProperty('nodeEligible');
  });

  test('after a sync both report per-family status and stay 200 while nothing is queued', async () => {
    const { clock, health, port } = await start();
    health.updated();
    const syncedAt = clock.now().toISOString();
    clock.advance(10 * SYNC_PERIOD_MS);
    const { status, json } = await getJson(port, '/livez');
    expect(status).toBe(200);
    expect(json.currentTime).toBe(clock.now().toISOString());
    expect(json.status).toEqual({ IPv4: { lastUpdated: syncedAt, healthy: true } });
  });

  test('a queued change that outlives 2 × syncPeriod makes both 503, and a sync heals them', async () => {
    const { clock, health, port } = await start();
    health.updated();
    const syncedAt = clock.now().toISOString();
    clock.advance(1000);
    health.queued();
    clock.advance(2 * SYNC_PERIOD_MS - 1);
    expect((await get(port, '/healthz')).status).toBe(200);
    expect((await get(port, '/livez')).status).toBe(200);

    health.queued(); // a later change does not restart the wait
    clock.advance(1);
    for (const path of ['/healthz', '/livez']) {
      const { status, json } = await getJson(port, path);
      expect(status).toBe(503);
      expect(json.healthy).toBe(false);
      expect(json.lastUpdated).toBe(syncedAt); // the real last sync, not "now"
      expect(json.status.IPv4).toEqual({ lastUpdated: syncedAt, healthy: false });
    }

    health.updated();
    expect((await get(port, '/healthz')).status).toBe(200);
    expect((await get(port, '/livez')).status).toBe(200);
  });

  test('a change queued before any sync counts too', async () => {
    const { clock, health, port } = await start();
    health.queued();
    clock.advance(2 * SYNC_PERIOD_MS);
    const { status, json } = await getJson(port, '/livez');
    expect(status).toBe(503);
    expect(json.lastUpdated).toBe(ZERO_TIME);
    expect(json.status).toEqual({ IPv4: { lastUpdated: ZERO_TIME, healthy: false } });
  });

  test('one late family makes the proxy unhealthy', async () => {
    const { clock, health, port } = await start({ families: ['IPv4', 'IPv6'] });
    health.updated();
    health.queued('IPv6');
    clock.advance(2 * SYNC_PERIOD_MS);
    health.updated('IPv4');
    const { status, json } = await getJson(port, '/livez');
    expect(status).toBe(503);
    expect(json.status.IPv4.healthy).toBe(true);
    expect(json.status.IPv6.healthy).toBe(false);
  });

  test.each([
    ['being deleted', node({ deletionTimestamp: '2025-06-01T11:59:00Z' })],
    ['tainted by the cluster autoscaler', node({ taints: [{ key: TO_BE_DELETED_TAINT, value: '1717243140', effect: 'NoSchedule' }] })],
  ])('/healthz is 503 for a node %s while /livez stays 200', async (_what, n) => {
    const { health, port } = await start();
    health.setNode(node());
    expect((await get(port, '/healthz')).status).toBe(200);

    health.setNode(n);
    const healthz = await getJson(port, '/healthz');
    expect(healthz.status).toBe(503);
    expect(healthz.json.nodeEligible).toBe(false);
    expect(healthz.json.healthy).toBe(false);
    expect((await get(port, '/livez')).status).toBe(200);

    health.setNode(node()); // the taint was lifted
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  test('other taints leave the node eligible; a node gone from the API does not', () => {
    expect(isNodeEligible(node({ taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] }))).toBe(true);
    expect(isNodeEligible(undefined)).toBe(false);
  });

  test('answers are counted in kubeproxy_proxy_healthz_total and _livez_total', async () => {
    const { clock, health, metrics, port } = await start();
    await get(port, '/healthz');
    await get(port, '/livez');
    health.queued();
    clock.advance(2 * SYNC_PERIOD_MS);
    await get(port, '/healthz');
    const text = await metrics.registry.metrics();
    expect(text).toContain('kubeproxy_proxy_healthz_total{code="200"} 1');
    expect(text).toContain('kubeproxy_proxy_healthz_total{code="503"} 1');
    expect(text).toContain('kubeproxy_proxy_livez_total{code="200"} 1');
    expect(text).toContain('kubeproxy_proxy_livez_total{code="503"} 0');
  });

  test('other paths are 404', async () => {
    const { port } = await start();
    expect((await get(port, '/metrics')).status).toBe(404);
  });
});
