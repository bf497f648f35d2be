// A running `sluice run --from` serves /healthz, /livez and /metrics over real HTTP, and opens,
// answers and closes health-check node ports as services and this node's endpoints come and go.
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG } from '../../lib/config/kube-proxy-config.ts';
import { recordingLogger } from '../../lib/log.ts';
import { FakeNft } from '../support/nft-fake/fake-nft.ts';
import { runProxy, type RunningProxy } from '../../lib/run.ts';
import { eventually } from '../support/eventually.ts';

let dir: string;
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  rmSync(dir, { recursive: true, force: true });
  // The fake holds the tables: nothing sluice sent may be what the kernel would refuse.
  for (const nft of FakeNft.made.splice(0)) expect(nft.refused.map((r) => r.error.stderr)).toEqual([]);
});

const HC_PORT = 20000 + Math.floor(Math.random() * 10000);
const service = `apiVersion: v1
kind: Service
metadata: { name: lb, namespace: shop }
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.1
  externalTrafficPolicy: Local
  healthCheckNodePort: ${HC_PORT}
  ports: [{ port: 80, nodePort: 30080 }]
`;
const slice = (node: string) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: lb-1
  namespace: shop
  labels: { kubernetes.io/service-name: lb }
  annotations: { endpoints.kubernetes.io/last-change-trigger-time: "${new Date(Date.now() - 2000).toISOString()}" }
addressType: IPv4
ports: [{ port: 80 }]
endpoints: [{ addresses: [10.244.1.11], nodeName: ${node} }]
`;

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

test('health, metrics and health-check node ports of a running proxy', async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-serve-'));
  writeFileSync(join(dir, 'service.yaml'), service);
  writeFileSync(join(dir, 'slice.yaml'), slice('node1'));
  writeFileSync(join(dir, 'node.yaml'), 'apiVersion: v1\nkind: Node\nmetadata: { name: node1 }\nstatus: { addresses: [{ type: InternalIP, address: 172.30.0.1 }] }\n');
  const nft = new FakeNft();
  proxy = await runProxy({
    config: { ...DEFAULT_CONFIG, healthzBindAddress: '127.0.0.1:0', metricsBindAddress: '127.0.0.1:0', minSyncPeriodMs: 20 },
    nodeName: 'node1', log: recordingLogger(), from: dir, nft, healthCheckAddresses: ['127.0.0.1'], conntrack: { reconcile: async () => ({ deleted: { IPv4: 0, IPv6: 0 } }) },
  });
  const [healthz, metrics] = await Promise.all(proxy.servers.map((s) => s.listening));
  await eventually(() => expect(nft.scripts.length).toBeGreaterThanOrEqual(1));

  const h = await get(`http://127.0.0.1:${healthz.port}/healthz`);
  expect(h.status).toBe(200);
  expect(JSON.parse(h.body)).toMatchObject({ lastUpdated: expect.any(String), currentTime: expect.any(String) });
  expect((await get(`http://127.0.0.1:${healthz.port}/livez`)).status).toBe(200);

  const m = await get(`http://127.0.0.1:${metrics.port}/metrics`);
  for (const name of ['kubeproxy_sync_proxy_rules_duration_seconds_bucket', 'kubeproxy_sync_full_proxy_rules_duration_seconds_count',
    'kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'kubeproxy_sync_proxy_rules_endpoint_changes_total', 'sluice_services_programmed 1']) {
    expect(m.body).toContain(name);
  }

  const hc = await eventually(() => get(`http://127.0.0.1:${HC_PORT}/`));
  expect(hc.status).toBe(200);
  expect(JSON.parse(hc.body)).toMatchObject({ service: { namespace: 'shop', name: 'lb' }, localEndpoints: 1 });

  // The endpoint moves to another node: this node can no longer serve the load balancer's traffic.
  writeFileSync(join(dir, 'slice.yaml'), slice('node2'));
  await eventually(async () => expect((await get(`http://127.0.0.1:${HC_PORT}/`)).status).toBe(503));
  expect((await get(`http://127.0.0.1:${metrics.port}/metrics`)).body).toMatch(/kubeproxy_sync_proxy_rules_partial_proxy_rules_duration_seconds_count\{[^}]*\} [1-9]|kubeproxy_sync_partial_proxy_rules_duration_seconds_count\{[^}]*\} [1-9]/);

  // The slice's trigger time (2 s before the test wrote it) shows as network programming latency.
  const programming = (await get(`http://127.0.0.1:${metrics.port}/metrics`)).body;
  expect(programming).toMatch(/kubeproxy_network_programming_duration_seconds_count\{ip_family="IPv4"\} [1-9]/);
  expect(programming).toMatch(/kubeproxy_network_programming_duration_seconds_bucket\{le="1",ip_family="IPv4"\} 0/);

  // The service goes: so does its port.
  unlinkSync(join(dir, 'service.yaml'));
  await eventually(async () => expect(get(`http://127.0.0.1:${HC_PORT}/`)).rejects.toThrow());
});
