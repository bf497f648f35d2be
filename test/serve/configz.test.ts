// /configz on the metrics port, as kube-proxy; /debug/pprof only with enableProfiling.
import { afterEach, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import { configzView } from '../../lib/config/configz.ts';
import { parseConfig } from '../../lib/config/kube-proxy-config.ts';
import { recordingLogger } from '../../lib/log.ts';
import type { Serving } from '../../lib/serve/http.ts';
import { startMetricsServer } from '../../lib/serve/metrics-server.ts';
import { get, getJson } from './helpers.ts';

let server: Serving | undefined;
afterEach(async () => { await server?.close(); });

test('/configz answers the effective configuration; profiling is off by default', async () => {
  const config = parseConfig({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha2', kind: 'KubeProxyConfiguration', syncPeriod: '1m' }, () => {});
  server = startMetricsServer(new Registry(), { host: '127.0.0.1', port: 0 }, { logger: recordingLogger(), configz: configzView(config, 'json') });
  const { port } = await server.listening;
  const r = await getJson(port, '/configz');
  expect(r.status).toBe(200);
  expect(r.json['kubeproxy.config.k8s.io'].SyncPeriod).toBe('1m0s');
  expect(r.json.sluice.apiVersion).toBe('kubeproxy.config.k8s.io/v1alpha2');
  expect((await get(port, '/debug/pprof/profile?seconds=1')).status).toBe(404);
});

test('with enableProfiling, a CPU profile of the seconds asked for', async () => {
  server = startMetricsServer(new Registry(), { host: '127.0.0.1', port: 0 }, { logger: recordingLogger(), profiling: true });
  const { port } = await server.listening;
  expect((await get(port, '/debug/pprof/profile?seconds=0')).status).toBe(400);
  const r = await getJson(port, '/debug/pprof/profile?seconds=1');
  expect(r.status).toBe(200);
  expect(Array.isArray(r.json.nodes)).toBe(true);
  expect(r.json.endTime - r.json.startTime).toBeGreaterThanOrEqual(900_000); // microseconds
});
