// A Service sluice has to skip gets a Warning event saying why, through the real client library.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG } from '../../lib/config/kube-proxy-config.ts';
import { recordingLogger } from '../../lib/log.ts';
import { FakeNft } from '../support/nft-fake/fake-nft.ts';
import { runProxy, type RunningProxy } from '../../lib/run.ts';
import { eventually } from '../support/eventually.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';

const svc = (name: string, port: unknown) => ({
  kind: 'Service', apiVersion: 'v1',
  metadata: { name, namespace: 'shop', resourceVersion: '1' },
  spec: { clusterIP: name === 'good' ? '10.96.0.1' : '10.96.0.2', ports: [{ port }] },
});

let server: FakeApiServer;
let proxy: RunningProxy | undefined;
let dir: string;
afterEach(async () => {
  await proxy?.stop();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
  // The fake holds the tables: nothing sluice sent may be what the kernel would refuse.
  for (const nft of FakeNft.made.splice(0)) expect(nft.refused.map((r) => r.error.stderr)).toEqual([]);
});

test('an invalid Service gets one Warning event naming the reason; a valid one none', async () => {
  server = await FakeApiServer.start();
  dir = mkdtempSync(join(tmpdir(), 'sluice-events-'));
  const kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  server.apply(svc('good', 80));
  server.apply(svc('bad', 70000));
  const nft = new FakeNft();
  proxy = await runProxy({ config: { ...DEFAULT_CONFIG, minSyncPeriodMs: 10 }, nodeName: 'node-a', log: recordingLogger(), kubeconfig, nft, serve: false });
  const event = await eventually(() => {
    expect(server.events).toHaveLength(1);
    return server.events[0];
  });
  expect(event).toMatchObject({
    type: 'Warning',
    reason: 'FailedToProgramService',
    involvedObject: { kind: 'Service', namespace: 'shop', name: 'bad' },
    source: { component: 'sluice', host: 'node-a' },
  });
  expect(event.message).toContain('spec.ports[0].port 70000 is not a port number');
  // Syncs that follow do not repeat it; a new problem with the same Service gives a new event.
  server.apply(svc('good', 81));
  await eventually(() => expect(nft.scripts.join('')).toContain('10.96.0.1 . tcp . 81'));
  expect(server.events).toHaveLength(1);
  server.apply(svc('bad', 0));
  await eventually(() => expect(server.events).toHaveLength(2));
  expect(server.events[1].message).toContain('spec.ports[0].port 0 is not a port number');
});

/** The API calls a request stands for, in RBAC's terms. */
function verbOf(r: { method: string; path: string; watch: boolean }): string {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/v1)(?:\/namespaces\/[^/]+)?\/([a-z]+)(\/[^/]+)?$/.exec(r.path);
  if (!m) return `unknown ${r.method} ${r.path}`;
  const group = m[1] ?? '';
  const verb = r.method === 'POST' ? 'create' : r.method === 'GET' ? (r.watch ? 'watch' : m[3] ? 'get' : 'list') : r.method.toLowerCase();
  return `${group}/${m[2]} ${verb}`;
}

test.each([
  ['by default', false],
  ['with watchEndpoints', true],
])('the code calls exactly the API verbs deploy/api-use.json (and so the ClusterRoles) grant, %s', async (_what, watchEndpoints) => {
  server = await FakeApiServer.start();
  dir = mkdtempSync(join(tmpdir(), 'sluice-events-'));
  const kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  server.apply(svc('bad', 70000));
  proxy = await runProxy({ config: { ...DEFAULT_CONFIG, minSyncPeriodMs: 10 }, nodeName: 'node-a', log: recordingLogger(), kubeconfig, nft: new FakeNft(), serve: false, watchEndpoints });
  await eventually(() => expect(server.events).toHaveLength(1));
  await eventually(() => expect(server.requests.filter((r) => r.watch).length).toBeGreaterThanOrEqual(watchEndpoints ? 5 : 4));
  const used = new Set(server.requests.map(verbOf));
  const uses = JSON.parse(readFileSync(new URL('../../deploy/api-use.json', import.meta.url), 'utf8')) as { group: string; resource: string; verbs: string[]; flag?: string }[];
  const granted = new Set(uses.filter((u) => u.flag === undefined || (watchEndpoints && u.flag === '--watch-endpoints'))
    .flatMap((g) => g.verbs.map((v) => `${g.group}/${g.resource} ${v}`)));
  expect([...used].sort()).toEqual([...granted].sort());
});

test('a health-check node port that cannot be opened gives one FailedToStartServiceHealthcheck event', async () => {
  const { occupy, freePort } = await import('../serve/helpers.ts');
  server = await FakeApiServer.start();
  dir = mkdtempSync(join(tmpdir(), 'sluice-events-'));
  const kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  const port = await freePort();
  const busy = await occupy(port);
  try {
    server.apply({
      kind: 'Service', apiVersion: 'v1', metadata: { name: 'lb', namespace: 'shop', resourceVersion: '1' },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.9', externalTrafficPolicy: 'Local', healthCheckNodePort: port, ports: [{ port: 80, nodePort: 30080 }] },
    });
    const nft = new FakeNft();
    const config = { ...DEFAULT_CONFIG, minSyncPeriodMs: 10, healthzBindAddress: '127.0.0.1:0', metricsBindAddress: '127.0.0.1:0' };
    proxy = await runProxy({ config, nodeName: 'node-a', log: recordingLogger(), kubeconfig, nft, healthCheckAddresses: ['127.0.0.1'] });
    const event = await eventually(() => {
      expect(server.events.filter((e) => e.reason === 'FailedToStartServiceHealthcheck')).toHaveLength(1);
      return server.events.find((e) => e.reason === 'FailedToStartServiceHealthcheck')!;
    });
    expect(event).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Service', namespace: 'shop', name: 'lb' } });
    expect(event.message).toContain(`node node-a failed to start healthcheck "shop/lb" on port ${port}`);
    // The next syncs retry and fail the same way: no new event.
    server.apply({
      kind: 'Service', apiVersion: 'v1', metadata: { name: 'other', namespace: 'shop', resourceVersion: '2' },
      spec: { clusterIP: '10.96.0.10', ports: [{ port: 81 }] },
    });
    await eventually(() => expect(nft.scripts.join('')).toContain('10.96.0.10'));
    expect(server.events.filter((e) => e.reason === 'FailedToStartServiceHealthcheck')).toHaveLength(1);
  } finally {
    await busy.release();
  }
});
