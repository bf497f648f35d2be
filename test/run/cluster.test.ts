// sluice run against a Kubernetes API server: the fake one of test/support, which speaks the real
// list/watch protocol, read through client-node's informers (runProxy with a kubeconfig, in this
// process). The rules go to a network namespace of the test's own, and after each change the kernel
// must hold exactly what `sluice render` makes of the objects the server has.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/kube-proxy-config.ts';
import { slimObject, type ObjectKind } from '../../lib/objects/objects.ts';
import { labAvailable } from '../../lab/lab.ts';
import { run, runOk } from '../../lab/run.ts';
import { recordingLogger } from '../../lib/log.ts';
import { ObjectStore } from '../../lib/objects/store.ts';
import { execNft } from '../../lib/nft/runner.ts';
import { renderStore } from '../../lib/render.ts';
import { runProxy, type RunningProxy } from '../../lib/run.ts';
import { execConntrack } from '../../lib/sync/conntrack.ts';
import { FakeApiServer, type FakeKind } from '../support/fake-apiserver.ts';
import { kernelListing, listingOf, namespacedTools, within } from './support/kernel.ts';

const available = await labAvailable();
if (!available.ok) console.warn(`skipping sluice run cluster tests: ${available.reason}`);
const maybe = available.ok ? describe : describe.skip;
const skipNote = available.ok ? '' : ` (skipped: ${available.reason})`;

const config = parseConfig({
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', hostnameOverride: 'node1',
  clusterCIDR: '10.244.0.0/16', nftables: { syncPeriod: '2s', minSyncPeriod: '200ms' },
}, () => {});

function service(name: string, clusterIP: string) {
  return {
    kind: 'Service',
    metadata: { name, namespace: 'lab', managedFields: [{ manager: 'kubectl' }] },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 9376 }] },
    status: { loadBalancer: {} },
  };
}

function slice(serviceName: string, ips: string[], suffix = '1') {
  return {
    kind: 'EndpointSlice',
    metadata: { name: `${serviceName}-${suffix}`, namespace: 'lab', labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: ip.startsWith('10.244.1.') ? 'node1' : 'node2' })),
    ports: [{ name: 'http', protocol: 'TCP', port: 9376 }],
  };
}

const NODE1 = {
  kind: 'Node',
  metadata: { name: 'node1' },
  spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
  status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }] },
};

maybe(`sluice run --kubeconfig against an API server${skipNote}`, () => {
  const ns = `slk8s${randomBytes(3).toString('hex')}`;
  const log = recordingLogger();
  const latencies: Record<string, number> = {};
  let tmp: string;
  let fake: FakeApiServer;
  let proxy: RunningProxy | undefined;
  /** What the server holds, as the test told it: the kernel must end up with exactly these objects' rules. */
  const objects = new Map<string, any>();

  const apply = (obj: any) => {
    fake.apply(obj);
    objects.set(`${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, obj);
  };
  const remove = (kind: FakeKind, name: string) => {
    const namespace = kind === 'Node' ? undefined : 'lab';
    expect(fake.delete(kind, namespace, name)).toBe(true);
    objects.delete(`${kind} ${namespace ?? ''}/${name}`);
  };

  /** Waits until every kind's informer has its watch open. */
  const watching = () => within(5000, () => expect(fake.openWatches()).toBe(4));

  /** Waits until the namespace holds exactly the rules for the server's objects; returns how long that took. */
  async function converged(what: string, timeoutMs = 5000): Promise<number> {
    const store = new ObjectStore();
    for (const o of objects.values()) store.upsert(slimObject(o.kind as ObjectKind, structuredClone(o)));
    const expected = listingOf(renderStore(store, config, 'node1', recordingLogger()));
    const ms = await within(timeoutMs, async () => expect(await kernelListing(ns)).toEqual(expected));
    latencies[what] = ms;
    return ms;
  }

  beforeAll(async () => {
    await runOk('ip', ['netns', 'add', ns]);
    tmp = mkdtempSync(join(tmpdir(), 'sluice-k8s-'));
    fake = await FakeApiServer.start();
    apply(NODE1);
    apply(service('web', '10.96.0.10'));
    apply(slice('web', ['10.244.1.11', '10.244.2.11']));
    const tools = namespacedTools(join(tmp, 'bin'), ns);
    proxy = await runProxy({
      config, nodeName: 'node1', log, kubeconfig: fake.writeKubeconfig(join(tmp, 'kubeconfig')),
      nft: execNft({ nft: tools.nft }), conntrack: execConntrack(log, tools.conntrack), serve: false,
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await fake?.close();
    await run('ip', ['netns', 'del', ns]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`API server change -> kernel (ms): ${JSON.stringify(latencies)}`);
  });

  test('after the first list, the kernel holds the listed services', async () => {
    await converged('first list');
    // v1 Endpoints are not watched unless asked (--watch-endpoints).
    expect(fake.requests.filter((r) => !r.watch).map((r) => r.kind).sort()).toEqual(['EndpointSlice', 'Node', 'Service', 'ServiceCIDR']);
    // (The kernel holds the rules a moment before sluice logs the sync: it reads the tables' handles first.)
    await within(2000, () => expect(log.lines.filter((l) => l.msg === 'full sync')).toHaveLength(1));
  });

  test('ADDED, MODIFIED and DELETED events each reach the kernel, as partial syncs', async () => {
    apply(service('db', '10.96.0.20'));
    apply(slice('db', ['10.244.2.12']));
    await converged('ADDED');
    apply(slice('web', ['10.244.1.11', '10.244.1.12', '10.244.2.11']));
    await converged('MODIFIED');
    remove('Service', 'db');
    remove('EndpointSlice', 'db-1');
    await converged('DELETED');
    expect(log.lines.filter((l) => l.msg === 'full sync')).toHaveLength(1);
    await within(2000, () => expect(log.lines.filter((l) => l.msg === 'partial sync').length).toBeGreaterThanOrEqual(3));
  });

  test('a watch answered 410 Gone (history compacted while away) relists and converges', async () => {
    await watching();
    const listsBefore = fake.requests.filter((r) => !r.watch).length;
    fake.hold();
    fake.endWatches(); // the informers reconnect at once, into the hold
    apply(service('cache', '10.96.0.30'));
    apply(slice('cache', ['10.244.1.13']));
    remove('EndpointSlice', 'web-1');
    apply(slice('web', ['10.244.2.12'], '2'));
    fake.compact();
    fake.release();
    await converged('410 Gone, relist');
    // Every kind's watch resumed from a compacted version, was told it had expired, and listed again.
    expect(fake.requests.filter((r) => !r.watch).length - listsBefore).toBe(4);
    expect(log.lines.filter((l) => l.msg === 'full sync')).toHaveLength(1);
  });

  test('a dropped connection is restarted and converges on what changed while it was gone', async () => {
    await watching(); // after a relist, client-node's informers wait a moment before they watch again
    fake.dropWatches();
    remove('Service', 'cache');
    remove('EndpointSlice', 'cache-1');
    apply(slice('web', ['10.244.2.12', '10.244.1.11'], '2'));
    await converged('dropped watches');
    // Each kind's watch failed and was restarted, and the metric counted it.
    expect(log.lines.filter((l) => l.msg === 'watch failed, restarting').map((l) => l.fields?.kind).sort()).toEqual(['EndpointSlice', 'Node', 'Service', 'ServiceCIDR']);
    const restarts = (await proxy!.metrics.informerRestartsTotal.get()).values;
    expect(Object.fromEntries(restarts.filter((v) => v.value > 0).map((v) => [v.labels.kind, v.value]))).toEqual({ EndpointSlice: 1, Node: 1, Service: 1, ServiceCIDR: 1 });
    // Still live after the restart.
    apply(service('late', '10.96.0.40'));
    apply(slice('late', ['10.244.1.14']));
    await converged('after restart');
    expect(log.lines.filter((l) => l.msg === 'full sync')).toHaveLength(1);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
