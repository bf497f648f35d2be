// ClusterSource against a fake API server over real HTTP, through client-node's own informers.
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterSource } from '../../lib/k8s/cluster-source.ts';
import type { ClusterSourceOptions } from '../../lib/k8s/cluster-source.ts';
import { loadKubeConfig } from '../../lib/k8s/kubeconfig.ts';
import type { ObjectKind } from '../../lib/objects/objects.ts';
import { realClock } from '../../lib/clock.ts';
import { recordingLogger } from '../../lib/log.ts';
import { eventually } from '../support/eventually.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import type { FakeApiServerOptions, RecordedRequest } from '../support/fake-apiserver.ts';
import { RecordingSink } from '../support/recording-sink.ts';
import type { SinkCall } from '../support/recording-sink.ts';

const NODE = 'node-a';
const ALL_KINDS: ObjectKind[] = ['Node', 'Service', 'EndpointSlice', 'Endpoints', 'ServiceCIDR'];
const KIND_COUNT = ALL_KINDS.length;

function service(ns: string, name: string, clusterIP = '10.96.0.10') {
  return {
    kind: 'Service',
    metadata: {
      name, namespace: ns, labels: { app: name },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}' },
      managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
      ownerReferences: [{ apiVersion: 'v1', kind: 'Thing', name: 'owner', uid: 'u1' }],
      creationTimestamp: '2024-05-01T10:00:00Z',
    },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }] },
    status: { loadBalancer: {}, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z' }] },
  };
}

function slice(ns: string, name: string, svc: string, ips: string[]) {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': svc }, managedFields: [{ manager: 'kcm' }] },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: NODE })),
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

function endpoints(ns: string, name: string, ips: string[]) {
  return {
    kind: 'Endpoints',
    metadata: { name, namespace: ns, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': 'x' } },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  };
}

function serviceCIDR(name: string, cidrs: string[]) {
  return {
    kind: 'ServiceCIDR',
    metadata: { name, managedFields: [{ manager: 'kube-apiserver' }] },
    spec: { cidrs },
    status: { conditions: [{ type: 'Ready', status: 'True', reason: '', message: '', lastTransitionTime: '2024-05-01T10:00:00Z' }] },
  };
}

function node(name: string, podCIDR: string) {
  return {
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name }, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { podCIDR, podCIDRs: [podCIDR], taints: [{ key: 'k', effect: 'NoSchedule', timeAdded: '2024-05-01T10:00:00Z' }], providerID: 'x' },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }], images: [{ names: ['big-image'] }] },
  };
}

interface Harness {
  fake: FakeApiServer;
  source: ClusterSource;
  sink: RecordingSink;
  logger: ReturnType<typeof recordingLogger>;
  restarts: { kind: ObjectKind; error: any }[];
  clock: { skewMs: number };
  pendingTimers: Set<unknown>;
}

let harness: Harness | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await harness?.source.stop();
  await harness?.fake.close();
  harness = undefined;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** A fake cluster with one of each kind (and a second Node that is not ours), and a source on it. */
async function setUp(opts: { fake?: FakeApiServerOptions; source?: Partial<ClusterSourceOptions>; populate?: boolean } = {}): Promise<Harness> {
  const fake = await FakeApiServer.start(opts.fake);
  if (opts.populate ?? true) {
    // A kind the server does not serve cannot hold objects.
    const put = (obj: { kind: string }) => { if (!opts.fake?.unserved?.includes(obj.kind as ObjectKind)) fake.apply(obj); };
    put(service('default', 'web'));
    put(slice('default', 'web-abc', 'web', ['10.0.0.1', '10.0.0.2']));
    put(endpoints('default', 'web', ['10.0.0.1', '10.0.0.2']));
    put(node(NODE, '10.244.1.0/24'));
    put(node('node-b', '10.244.2.0/24'));
    put(serviceCIDR('kubernetes', ['10.96.0.0/16', 'fd00:96::/112']));
  }
  tmp = mkdtempSync(join(tmpdir(), 'sluice-k8s-'));
  const clock = { skewMs: 0 };
  const pendingTimers = new Set<unknown>();
  const restarts: Harness['restarts'] = [];
  const logger = recordingLogger();
  const source = new ClusterSource({
    kubeConfig: loadKubeConfig(fake.writeKubeconfig(join(tmp, 'kubeconfig'))),
    nodeName: NODE,
    logger,
    onRestart: (kind, error) => restarts.push({ kind, error }),
    backoff: { initialMs: 50, maxMs: 400, jitter: 0 },
    healthyAfterMs: 60_000,
    watchEndpoints: true, // off by default; on here so that every kind's watch is exercised
    timers: {
      now: () => Date.now() + clock.skewMs,
      setTimeout: (fn, ms) => {
        const handle: unknown = realClock.setTimeout(() => { pendingTimers.delete(handle); fn(); }, ms);
        pendingTimers.add(handle);
        return handle;
      },
      clearTimeout: (handle) => { pendingTimers.delete(handle); realClock.clearTimeout(handle); },
    },
    ...opts.source,
  });
  const sink = new RecordingSink();
  harness = { fake, source, sink, logger, restarts, clock, pendingTimers };
  await source.start(sink);
  return harness;
}

async function synced(h: Harness, kinds: ObjectKind[] = ALL_KINDS): Promise<void> {
  await eventually(() => expect([...h.sink.syncedKinds].sort()).toEqual([...kinds].sort()));
}

/** Waits until every kind has its watch stream open on the server. */
async function watching(h: Harness, kinds: ObjectKind[] = ALL_KINDS): Promise<void> {
  await eventually(() => expect(kinds.map((k) => h.fake.openWatches(k))).toEqual(kinds.map(() => 1)));
}

function snapshot(h: Harness): Record<string, string[]> {
  return Object.fromEntries(ALL_KINDS.map((k) => [k, h.sink.keys(k)]));
}

const lists = (h: Harness, kind: ObjectKind): RecordedRequest[] => h.fake.requests.filter((r) => r.kind === kind && !r.watch);

describe('ClusterSource', () => {
  it('lists every kind, upserts each object and reports each kind synced', async () => {
    const h = await setUp();
    await synced(h);
    expect(snapshot(h)).toEqual({
      Node: [NODE],
      Service: ['default/web'],
      EndpointSlice: ['default/web-abc'],
      Endpoints: ['default/web'],
      ServiceCIDR: ['kubernetes'],
    });
    // Each kind: its upserts before its synced.
    for (const kind of ALL_KINDS) {
      const ops = h.sink.calls.filter((c) => c.kind === kind).map((c) => c.op);
      expect(ops).toEqual(['upsert', 'synced']);
    }
    // Only this node, selected on the server, on the list and on the watch.
    await watching(h);
    const nodeRequests = h.fake.requests.filter((r) => r.kind === 'Node');
    expect(nodeRequests.map((r) => [r.watch, r.query.fieldSelector])).toEqual([[false, `metadata.name=${NODE}`], [true, `metadata.name=${NODE}`]]);
    // Cluster-wide collections, credentials from the kubeconfig on every request, watches from the list's version.
    expect(h.fake.requests.every((r) => r.authorization === 'Bearer test-token')).toBe(true);
    expect(h.fake.requests.filter((r) => r.watch).map((r) => r.path).sort()).toEqual(
      ['/api/v1/endpoints', '/api/v1/nodes', '/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices', '/apis/networking.k8s.io/v1/servicecidrs']);
    for (const w of h.fake.requests.filter((r) => r.watch)) {
      expect(w.query.resourceVersion).toBe(h.fake.resourceVersion);
      expect(w.query.allowWatchBookmarks).toBe('true');
    }
    expect(h.restarts).toEqual([]);
  });

  it('passes on slimmed objects: no managedFields, annotations or fields the proxy does not read', async () => {
    const h = await setUp();
    await synced(h);
    const svc = h.sink.get('Service', 'default/web')!;
    expect(svc).toEqual({
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, creationTimestamp: '2024-05-01T10:00:00Z', deletionTimestamp: undefined, resourceVersion: '2' },
      spec: service('default', 'web').spec,
      status: { loadBalancer: {} },
    });
    expect(Object.keys(svc.metadata)).not.toContain('managedFields');
    expect(Object.keys(svc.metadata)).not.toContain('annotations');
    const n = h.sink.get('Node', NODE)!;
    expect(n.spec).toEqual({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], taints: [{ key: 'k', effect: 'NoSchedule', timeAdded: '2024-05-01T10:00:00Z' }] });
    expect(n.status).toEqual({ addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] });
    expect(Object.keys(h.sink.get('Endpoints', 'default/web')!.metadata)).not.toContain('annotations');
    const cidr = h.sink.get('ServiceCIDR', 'kubernetes')!;
    expect(cidr.spec).toEqual({ cidrs: ['10.96.0.0/16', 'fd00:96::/112'] });
    expect(cidr.status).toBeUndefined();
    expect(Object.keys(cidr.metadata)).not.toContain('managedFields');
    // Objects from watch events are slimmed the same way as listed ones.
    await watching(h);
    h.fake.apply(service('other', 'api', '10.96.0.20'));
    await eventually(() => expect(h.sink.get('Service', 'other/api')).toBeDefined());
    const watched = h.sink.get('Service', 'other/api')!;
    expect(Object.keys(watched.metadata).sort()).toEqual(Object.keys(svc.metadata).sort());
    expect(watched.status).toEqual({ loadBalancer: {} });
  });

  it('passes on ADDED, MODIFIED and DELETED events for every kind', async () => {
    const h = await setUp();
    await synced(h);
    await watching(h);
    const before = h.sink.calls.length;

    h.fake.apply(service('default', 'db', '10.96.0.30'));
    h.fake.apply(slice('default', 'web-abc', 'web', ['10.0.0.1', '10.0.0.3']));
    h.fake.apply(endpoints('default', 'web', ['10.0.0.1', '10.0.0.3']));
    h.fake.apply(node(NODE, '10.244.9.0/24'));
    h.fake.apply(node('node-b', '10.244.8.0/24')); // not ours: must not arrive
    h.fake.delete('Service', 'default', 'web');
    h.fake.apply(serviceCIDR('extra', ['10.97.0.0/16']));

    await eventually(() => expect(snapshot(h)).toEqual({
      Node: [NODE], Service: ['default/db'], EndpointSlice: ['default/web-abc'], Endpoints: ['default/web'], ServiceCIDR: ['extra', 'kubernetes'],
    }));
    await eventually(() => expect(h.sink.get('Node', NODE)!.spec.podCIDR).toBe('10.244.9.0/24'));
    expect(h.sink.get('EndpointSlice', 'default/web-abc')!.endpoints).toEqual([
      { addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: NODE },
      { addresses: ['10.0.0.3'], conditions: { ready: true }, nodeName: NODE },
    ]);
    expect((h.sink.get('Endpoints', 'default/web')!.subsets as any)[0].addresses).toEqual([{ ip: '10.0.0.1' }, { ip: '10.0.0.3' }]);
    // Streams are per kind, so only the order within a kind is defined.
    const seen = h.sink.calls.slice(before).map(describeCall);
    expect([...seen].sort()).toEqual([
      'remove Service default/web',
      'upsert EndpointSlice default/web-abc',
      'upsert Endpoints default/web',
      `upsert Node ${NODE}`,
      'upsert Service default/db',
      'upsert ServiceCIDR extra',
    ]);
    expect(seen.filter((c) => c.includes(' Service '))).toEqual(['upsert Service default/db', 'remove Service default/web']);
    expect(h.restarts).toEqual([]);
  });

  it('relists after 410 Gone (an ERROR event on the watch) and removes what was deleted meanwhile', async () => {
    await relistAfterGone({ expiredAs: 'event' });
  });

  it('relists after 410 Gone (an HTTP 410 for the watch) and removes what was deleted meanwhile', async () => {
    await relistAfterGone({ expiredAs: 'status' });
  });

  it('restarts after a dropped connection, counts it, and converges on what changed while it was away', async () => {
    const h = await setUp();
    await synced(h);
    await watching(h);

    h.fake.dropWatches();
    // Changes no open watch sees: the source must find them by relisting.
    h.fake.delete('Service', 'default', 'web');
    h.fake.delete('EndpointSlice', 'default', 'web-abc');
    h.fake.delete('ServiceCIDR', undefined, 'kubernetes');
    h.fake.apply(service('default', 'db', '10.96.0.30'));
    h.fake.apply(node(NODE, '10.244.7.0/24'));

    await eventually(() => expect(snapshot(h)).toEqual({
      Node: [NODE], Service: ['default/db'], EndpointSlice: [], Endpoints: ['default/web'], ServiceCIDR: [],
    }));
    await eventually(() => expect(h.sink.get('Node', NODE)!.spec.podCIDR).toBe('10.244.7.0/24'));
    await watching(h);
    expect(h.restarts.map((r) => r.kind).sort()).toEqual([...ALL_KINDS].sort());
    expect(h.source.restarts()).toEqual({ Node: 1, Service: 1, EndpointSlice: 1, Endpoints: 1, ServiceCIDR: 1 });
    expect(h.logger.lines.filter((l) => l.level === 'warn' && l.msg === 'watch failed, restarting')).toHaveLength(KIND_COUNT);
    // synced is reported once per kind, not again after the relist.
    expect(h.sink.calls.filter((c) => c.op === 'synced')).toHaveLength(KIND_COUNT);
    // Still live after the restart.
    h.fake.apply(service('default', 'late', '10.96.0.40'));
    await eventually(() => expect(h.sink.keys('Service')).toEqual(['default/db', 'default/late']));
  });

  it('reconnects by itself when the server ends a watch cleanly, without a restart or a relist', async () => {
    const h = await setUp();
    await synced(h);
    await watching(h);
    const listsBefore = h.fake.requests.filter((r) => !r.watch).length;
    h.fake.endWatches();
    h.fake.apply(service('default', 'db', '10.96.0.30'));
    await eventually(() => expect(h.sink.keys('Service')).toEqual(['default/db', 'default/web']));
    await watching(h);
    expect(h.fake.requests.filter((r) => !r.watch).length).toBe(listsBefore);
    expect(h.restarts).toEqual([]);
  });

  it('backs off while the server fails requests (0.05 s doubling to 0.4 s), counting each restart, then converges', async () => {
    const h = await setUp();
    await synced(h);
    await watching(h);
    h.fake.failNext(5, 500, (r) => r.kind === 'Service');
    const droppedAt = Date.now();
    h.fake.dropWatches();
    h.fake.apply(service('default', 'db', '10.96.0.30'));

    await eventually(() => expect(h.sink.keys('Service')).toEqual(['default/db', 'default/web']));
    await watching(h);
    // The drop, then five failed lists: six restarts of the Service watch, one each of the others.
    expect(h.source.restarts()).toEqual({ Node: 1, Service: 6, EndpointSlice: 1, Endpoints: 1, ServiceCIDR: 1 });
    const serviceErrors = h.restarts.filter((r) => r.kind === 'Service').map((r) => r.error.statusCode);
    expect(serviceErrors.slice(1)).toEqual([500, 500, 500, 500, 500]);
    const delays = h.logger.lines.filter((l) => l.fields?.kind === 'Service' && l.level === 'warn').map((l) => l.fields!.delayMs as number);
    expect(delays).toEqual([50, 100, 200, 400, 400, 400]);
    // And the server saw the lists that far apart (timers only promise a lower bound).
    const times = [droppedAt, ...lists(h, 'Service').slice(1).map((r) => r.at)];
    expect(lists(h, 'Service').slice(1).map((r) => r.status)).toEqual([500, 500, 500, 500, 500, 200]);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(delays[i] - 5));
  });

  it('restarts when watch requests fail even though lists succeed', async () => {
    const h = await setUp();
    await synced(h);
    await watching(h);
    h.fake.failNext(2, 503, (r) => r.kind === 'EndpointSlice' && r.watch);
    h.fake.dropWatches();
    h.fake.apply(slice('default', 'web-xyz', 'web', ['10.0.0.9']));
    await eventually(() => expect(h.sink.keys('EndpointSlice')).toEqual(['default/web-abc', 'default/web-xyz']));
    await watching(h);
    expect(h.source.restarts().EndpointSlice).toBe(3);
    expect(h.restarts.filter((r) => r.kind === 'EndpointSlice').slice(1).map((r) => r.error.statusCode)).toEqual([503, 503]);
  });

  it('starts the backoff over once a watch has been healthy for a while', async () => {
    const h = await setUp({ source: { healthyAfterMs: 10_000 } });
    await synced(h);
    await watching(h);
    h.fake.failNext(2, 500, (r) => r.kind === 'Service');
    h.fake.dropWatches();
    await watching(h);
    h.fake.dropWatches();
    await watching(h);
    const serviceDelays = () => h.logger.lines.filter((l) => l.fields?.kind === 'Service' && l.level === 'warn').map((l) => l.fields!.delayMs);
    expect(serviceDelays()).toEqual([50, 100, 200, 400]);
    h.clock.skewMs += 10_000; // the Service watch has now been up for the healthy period
    h.fake.dropWatches();
    await watching(h);
    expect(serviceDelays()).toEqual([50, 100, 200, 400, 50]);
  });

  it('keeps a quiet watch current with bookmarks, so it resumes from the newest version', async () => {
    const h = await setUp();
    await synced(h);
    await watching(h);
    h.fake.apply(node('node-b', '10.244.5.0/24')); // advances the version; the Node watch does not see it
    const latest = h.fake.resourceVersion;
    h.fake.bookmark();
    h.fake.endWatches();
    await watching(h);
    const nodeWatches = h.fake.requests.filter((r) => r.kind === 'Node' && r.watch);
    expect(nodeWatches.at(-1)!.query.resourceVersion).toBe(latest);
  });

  it('watches no Endpoints by default, and reports them synced (there will be none)', async () => {
    const h = await setUp({ source: { watchEndpoints: undefined } });
    await synced(h);
    await watching(h, ['Node', 'Service', 'EndpointSlice', 'ServiceCIDR']);
    expect(h.fake.requests.some((r) => r.kind === 'Endpoints')).toBe(false);
    expect(h.sink.keys('Endpoints')).toEqual([]);
  });

  it('takes an API server without ServiceCIDRs (404) as having none: synced, said once, no restart, asked again', async () => {
    const h = await setUp({ fake: { unserved: ['ServiceCIDR'] } });
    await synced(h);
    await watching(h, ['Node', 'Service', 'EndpointSlice', 'Endpoints']);
    expect(h.sink.keys('ServiceCIDR')).toEqual([]);
    // Asked again at the slowest backoff (0.4 s here), quietly.
    await eventually(() => expect(lists(h, 'ServiceCIDR').length).toBeGreaterThanOrEqual(3), { timeoutMs: 5000 });
    expect(lists(h, 'ServiceCIDR').every((r) => r.status === 404)).toBe(true);
    const said = h.logger.lines.filter((l) => l.fields?.kind === 'ServiceCIDR' && l.msg.startsWith('not served'));
    expect(said.map((l) => l.level)).toEqual(['info']);
    expect(h.logger.lines.filter((l) => l.level !== 'info')).toEqual([]);
    expect(h.restarts).toEqual([]);
    expect(h.source.restarts().ServiceCIDR).toBe(0);
    expect(h.sink.calls.filter((c) => c.kind === 'ServiceCIDR').map((c) => c.op)).toEqual(['synced']);
  });

  it('restarts with a warning when a kind that must be served answers 404', async () => {
    const h = await setUp({ fake: { unserved: ['EndpointSlice'] } });
    await synced(h, ['Node', 'Service', 'Endpoints', 'ServiceCIDR']);
    await eventually(() => expect(h.restarts.filter((r) => r.kind === 'EndpointSlice').length).toBeGreaterThanOrEqual(2));
    expect(h.sink.syncedKinds.has('EndpointSlice')).toBe(false);
    expect(h.logger.lines.some((l) => l.level === 'warn' && l.fields?.kind === 'EndpointSlice')).toBe(true);
  });

  it('logs a sink that throws and carries on', async () => {
    const h = await setUp();
    let thrown = 0;
    const upsert = h.sink.upsert.bind(h.sink);
    h.sink.upsert = (obj) => {
      if (obj.metadata.name === 'boom') {
        thrown++;
        throw new Error('sink broke');
      }
      upsert(obj);
    };
    await synced(h);
    await watching(h);
    h.fake.apply(service('default', 'boom'));
    h.fake.apply(service('default', 'after'));
    await eventually(() => expect(h.sink.keys('Service')).toEqual(['default/after', 'default/web']));
    expect(thrown).toBe(1);
    expect(h.logger.lines.filter((l) => l.level === 'error').map((l) => [l.msg, l.fields?.error])).toEqual([['sink upsert failed', 'Error: sink broke']]);
  });

  it('stop() closes every watch and cancels pending restarts, leaving no timer behind', async () => {
    const h = await setUp();
    await synced(h);
    await watching(h);
    // The Service watch failing its lists and waiting out restart delays, the rest watching.
    h.fake.failNext(1000, 500, (r) => r.kind === 'Service');
    h.fake.dropWatches();
    await eventually(() => expect(lists(h, 'Service').filter((r) => r.status === 500).length).toBeGreaterThanOrEqual(2));
    await watching(h, ['Node', 'EndpointSlice', 'Endpoints', 'ServiceCIDR']);
    // Stop while a restart is scheduled (between one failed list and the next), so the check after means something.
    await eventually(() => expect(h.pendingTimers.size).toBeGreaterThan(0), { intervalMs: 1 });
    await h.source.stop();
    expect(h.pendingTimers.size).toBe(0);
    await eventually(() => expect(h.fake.openWatches()).toBe(0));
    const requestsAtStop = h.fake.requests.length;
    // Nothing may come back: a surviving restart or reconnect would show within the max delay (0.4 s).
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(h.fake.requests.length).toBe(requestsAtStop);
  });

  it('stop() while lists are in flight abandons them: nothing is upserted and no watch opens', async () => {
    const fake = await FakeApiServer.start();
    fake.apply(service('default', 'web'));
    fake.hold(() => true);
    const source = new ClusterSource({ kubeConfig: fake.kubeConfig(), nodeName: NODE, logger: recordingLogger(), watchEndpoints: true });
    const sink = new RecordingSink();
    harness = { fake, source, sink } as Harness;
    await source.start(sink);
    await eventually(() => expect(fake.requests.filter((r) => !r.watch)).toHaveLength(KIND_COUNT));
    await source.stop();
    await eventually(() => expect(fake.requests.map((r) => r.abandoned)).toEqual(ALL_KINDS.map(() => true)));
    fake.release();
    expect(fake.requests.map((r) => r.status)).toEqual(ALL_KINDS.map(() => 0));
    expect(fake.requests.some((r) => r.watch)).toBe(false);
    expect(sink.calls).toEqual([]);
  });

  it('stop() while watches are still opening aborts each one as it opens', async () => {
    const h = await setUp();
    h.fake.hold(); // lists are answered, watches are parked
    await synced(h);
    await eventually(() => expect(h.fake.requests.filter((r) => r.watch)).toHaveLength(KIND_COUNT));
    await h.source.stop();
    h.fake.release();
    await eventually(() => expect(h.fake.requests.filter((r) => r.watch && r.status === 200)).toHaveLength(KIND_COUNT));
    await eventually(() => expect(h.fake.openWatches()).toBe(0));
    expect(h.restarts).toEqual([]);
  });
});

/** The informer's own 410 handling: its watch ends cleanly, it reconnects from an old version while
 * the server has compacted past it, gets 410 and relists; no restart is involved. */
async function relistAfterGone(fake: FakeApiServerOptions): Promise<void> {
  const h = await setUp({ fake });
  await synced(h);
  await watching(h);
  h.fake.hold();
  h.fake.endWatches(); // the informers reconnect at once, into the hold
  h.fake.delete('Service', 'default', 'web');
  h.fake.delete('Endpoints', 'default', 'web');
  h.fake.apply(service('default', 'db', '10.96.0.30'));
  h.fake.apply(slice('default', 'web-abc', 'web', ['10.0.0.7']));
  h.fake.compact();
  h.fake.release();

  await eventually(() => expect(snapshot(h)).toEqual({
    Node: [NODE], Service: ['default/db'], EndpointSlice: ['default/web-abc'], Endpoints: [], ServiceCIDR: ['kubernetes'],
  }));
  await eventually(() => expect(h.sink.get('EndpointSlice', 'default/web-abc')!.endpoints).toEqual(
    [{ addresses: ['10.0.0.7'], conditions: { ready: true }, nodeName: NODE }]));
  await watching(h);
  const gone = h.fake.requests.filter((r) => r.watch && (fake.expiredAs === 'status' ? r.status === 410 : r.status === 200)
    && Number(r.query.resourceVersion) < Number(h.fake.resourceVersion));
  expect(new Set(gone.map((r) => r.kind)).size).toBe(KIND_COUNT);
  for (const kind of ALL_KINDS) expect(lists(h, kind)).toHaveLength(2);
  expect(h.restarts).toEqual([]);
  expect(h.sink.calls.filter((c) => c.op === 'remove').map((c) => `${c.kind} ${c.key}`).sort()).toEqual(
    ['Endpoints default/web', 'Service default/web']);
}

function describeCall(c: SinkCall): string {
  return c.op === 'synced' ? `synced ${c.kind}` : `${c.op} ${c.kind} ${c.key}`;
}

