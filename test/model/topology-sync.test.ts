// Topology in the running proxy: the sync loop (fake nft, fake clock) re-plans when the Node's zone
// label changes, and its metrics count the service ports that use hints and those that fell back.
import { afterEach, describe, expect, test } from '@jest/globals';
import { parseConfig } from '../../lib/config/kube-proxy-config.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { recordingLogger } from '../../lib/log.ts';
import { ObjectStore } from '../../lib/objects/store.ts';
import { FakeNft } from '../support/nft-fake/fake-nft.ts';
import { createMetrics } from '../../lib/serve/metrics.ts';
import { SyncLoop } from '../../lib/sync/sync-loop.ts';
import { FakeClock } from '../sync/fake-clock.ts';

const config = parseConfig({
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.244.0.0/16',
  nftables: { syncPeriod: '30s', minSyncPeriod: '100ms' },
}, () => {});

function node(zone?: string): KubeObject {
  return {
    kind: 'Node', metadata: { name: 'node1', labels: zone === undefined ? {} : { 'topology.kubernetes.io/zone': zone } },
    status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }] },
  };
}

function service(name: string, clusterIP: string): KubeObject {
  return { kind: 'Service', metadata: { name, namespace: 'lab' }, spec: { clusterIP, ports: [{ port: 80, targetPort: 9376 }] } };
}

/** An EndpointSlice whose endpoints (10.244.<n>.11) carry these zone hints; undefined: no hint. */
function slice(name: string, zones: (string | undefined)[], nodes?: string[]): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: { name: `${name}-1`, namespace: 'lab', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ port: 9376 }],
    endpoints: zones.map((z, i) => ({
      addresses: [`10.244.${i + 1}.11`], nodeName: `node${i + 1}`,
      ...((z || nodes) && { hints: { ...(z && { forZones: [{ name: z }] }), ...(nodes && { forNodes: [{ name: nodes[i] }] }) } }),
    })),
  };
}

afterEach(() => {
  // The fake holds the tables: nothing sluice sent may be what the kernel would refuse.
  for (const nft of FakeNft.made.splice(0)) expect(nft.refused.map((r) => r.error.stderr)).toEqual([]);
});

async function setUp() {
  const store = new ObjectStore();
  const clock = new FakeClock();
  const nft = new FakeNft();
  const metrics = createMetrics({ processMetrics: false, families: ['IPv4', 'IPv6'] });
  const loop = new SyncLoop({ store, config, nodeName: 'node1', nft, log: recordingLogger(), clock, metrics });
  loop.start();
  store.upsert(node('zone-a'));
  store.upsert(service('zonal', '10.96.7.1'));
  store.upsert(slice('zonal', ['zone-a', 'zone-b']));
  store.upsert(service('half', '10.96.7.2'));
  store.upsert(slice('half', ['zone-a', undefined]));
  store.upsert(service('near', '10.96.7.3'));
  store.upsert(slice('near', ['zone-a', 'zone-b'], ['node2', 'node2']));
  store.upsert(service('plain', '10.96.7.4'));
  store.upsert(slice('plain', [undefined, undefined]));
  for (const kind of ['Service', 'EndpointSlice', 'Endpoints', 'Node'] as const) store.synced(kind);
  await clock.advance(0);
  const gauges = async () => {
    const out: Record<string, number> = {};
    for (const name of ['sluice_topology_service_ports', 'sluice_topology_fallback_service_ports']) {
      for (const v of (await metrics.registry.getSingleMetric(name)!.get()).values) {
        if (v.labels.ip_family === 'IPv4' && v.value > 0) out[`${name}{${v.labels.mode ?? v.labels.reason}}`] = v.value;
      }
    }
    return out;
  };
  return { store, clock, nft, metrics, loop, gauges };
}

describe('topology in the sync loop', () => {
  test('metrics: ports using hints by mode, ports whose hints went unused by reason', async () => {
    const h = await setUp();
    expect(await h.gauges()).toEqual({
      'sluice_topology_service_ports{PreferSameZone}': 2, // zonal, and near after its node hints
      'sluice_topology_fallback_service_ports{endpoint-without-zone-hint}': 1, // half
      'sluice_topology_fallback_service_ports{no-endpoint-for-node}': 1, // near
    });
    // Every mode and reason has a series per family, zero when nothing counts.
    const modes = (await h.metrics.registry.getSingleMetric('sluice_topology_service_ports')!.get()).values;
    expect(modes.filter((v) => v.labels.ip_family === 'IPv6').map((v) => [v.labels.mode, v.value])).toEqual([['PreferSameNode', 0], ['PreferSameZone', 0]]);
    await h.loop.stop();
  });

  test('a zone label change re-plans: the next transaction rewrites the chains the hints pick for, and the metrics follow', async () => {
    const h = await setUp();
    const before = h.nft.scripts.length;
    await h.clock.advance(1000);
    h.store.upsert(node('zone-b'));
    await h.clock.advance(1000);
    const sent = h.nft.scripts.slice(before).join('');
    // zonal now picks the endpoint hinted for zone-b; near as well; half and plain use both, as before.
    expect(sent).toContain('flush chain ip sluice svc/lab/zonal/tcp/80');
    expect(sent).toMatch(/add rule ip sluice svc\/lab\/zonal\/tcp\/80 .*dnat ip to 10\.244\.2\.11:9376/);
    expect(sent).not.toMatch(/add rule ip sluice svc\/lab\/zonal\/tcp\/80 .*10\.244\.1\.11/);
    expect(sent).toContain('flush chain ip sluice svc/lab/near/tcp/80');
    expect(sent).not.toContain('svc/lab/half/');
    expect(sent).not.toContain('svc/lab/plain/');

    // Without a zone label, zone hints go unused.
    const again = h.nft.scripts.length;
    h.store.upsert(node(undefined));
    await h.clock.advance(1000);
    expect(h.nft.scripts.slice(again).join('')).toMatch(/add rule ip sluice svc\/lab\/zonal\/tcp\/80 .*10\.244\.1\.11/);
    expect(await h.gauges()).toEqual({
      'sluice_topology_fallback_service_ports{no-zone-label}': 2, // zonal; near, whose zone hints were the last tried
      'sluice_topology_fallback_service_ports{endpoint-without-zone-hint}': 1, // half
    });
    await h.loop.stop();
  });
});
