// `sluice services` and the metrics server's /services and /rules views.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseServiceFilter } from '../../lib/inspect/services-command.ts';
import { servicesView } from '../../lib/inspect/services.ts';
import { servicesText } from '../../lib/inspect/services-text.ts';
import { renderRuleset } from '../../lib/nft/templates.ts';
import { metricsHandler, type InspectViews } from '../../lib/serve/metrics-server.ts';
import { FIXTURES } from '../support/render-case.ts';
import { plannedCase } from '../trace/planned-case.ts';

const lab = plannedCase(join(FIXTURES, 'lab-cluster'));

test('externalTrafficPolicy Local: the local endpoint serves both, the others only cluster traffic', () => {
  const [local] = servicesView(lab.model, { namespace: 'lab', name: 'local' }).servicePorts;
  expect(local.fronts).toEqual([
    { kind: 'cluster-ip', address: '10.96.1.3', port: 80 }, { kind: 'node-port', port: 30063 }, { kind: 'load-balancer', address: '198.51.100.3', port: 80 },
  ]);
  expect(local.endpoints.map((e) => [e.address, e.local, e.forCluster, e.forExternal])).toEqual([
    ['10.244.1.11', true, true, true], ['10.244.2.11', false, true, false], ['10.244.2.12', false, true, false],
  ]);
  expect([local.internalTrafficPolicy, local.externalTrafficPolicy, local.healthCheckNodePort]).toEqual(['Cluster', 'Local', 32003]);
});

test('conditions, dropped and rejected ports, affinity, and the text', () => {
  const v = servicesView(lab.model, { namespace: 'lab' });
  const byName = (n: string) => v.servicePorts.find((sp) => sp.name === n)!;
  expect(byName('terminating').endpoints.map((e) => [e.address, e.forCluster])).toEqual([['10.244.2.11', true], ['10.244.2.12', false]]);
  expect(byName('internal-elsewhere').note).toMatch(/internalTrafficPolicy Local/);
  expect(byName('empty').note).toMatch(/rejected/);
  expect(byName('sticky').affinityTimeoutSeconds).toBe(300);
  const text = servicesText(v);
  expect(text).toContain('lab/local port 80/tcp, IPv4');
  expect(text).toMatch(/10\.244\.2\.12:9376 +ready, serving, on node2; in use for cluster traffic/);
});

test('skipped objects are listed with their reason', () => {
  const bad = plannedCase(join(FIXTURES, 'invalid-objects'));
  const v = servicesView(bad.model);
  expect(v.skipped.length).toBeGreaterThan(0);
  expect(v.skipped).toEqual(bad.model.problems);
  expect(servicesText(v)).toContain('skipped:');
});

test('the filter is NAMESPACE or NAMESPACE/NAME', () => {
  expect(parseServiceFilter('lab/local')).toEqual({ namespace: 'lab', name: 'local' });
  expect(parseServiceFilter('lab')).toEqual({ namespace: 'lab', name: undefined });
  for (const bad of ['', 'a/b/c', 'Lab', 'lab/$(x)']) expect(typeof parseServiceFilter(bad)).toBe('string');
});

describe('/services and /rules', () => {
  let server: http.Server;
  let base: string;
  let synced = false;
  const views: InspectViews = {
    services: () => (synced ? servicesView(lab.model) : undefined),
    rules: () => (synced ? renderRuleset(lab.ruleset) : undefined),
  };
  beforeAll(async () => {
    server = http.createServer(metricsHandler(new Registry(), 'nftables', views));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('503 before the first sync, then JSON and nft text; GET only', async () => {
    expect((await fetch(`${base}/services`)).status).toBe(503);
    synced = true;
    const services = await fetch(`${base}/services`);
    expect([services.status, services.headers.get('content-type')]).toEqual([200, 'application/json']);
    expect(((await services.json()) as { servicePorts: unknown[] }).servicePorts.length).toBe(lab.model.servicePorts.length);
    const rules = await fetch(`${base}/rules`);
    expect(await rules.text()).toBe(renderRuleset(lab.ruleset));
    const post = await fetch(`${base}/rules`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });
});
