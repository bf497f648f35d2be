// What ClusterSource asks the API server for, as kube-proxy does at scale: server-side label and
// field selectors, lists in pages, watches with bookmarks. The fake server applies the selectors
// and pages the lists itself, so these tests see what a real server would send back.
import { afterEach, describe, expect, it } from '@jest/globals';
import { ClusterSource } from '../../lib/k8s/cluster-source.ts';
import type { ClusterSourceOptions } from '../../lib/k8s/cluster-source.ts';
import { recordingLogger } from '../../lib/log.ts';
import type { ObjectKind } from '../../lib/objects/objects.ts';
import { eventually } from '../support/eventually.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import type { FakeApiServerOptions, RecordedRequest } from '../support/fake-apiserver.ts';
import { RecordingSink } from '../support/recording-sink.ts';

const NODE = 'node-a';
const KINDS: ObjectKind[] = ['Node', 'Service', 'EndpointSlice', 'ServiceCIDR'];
const PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
const HEADLESS = 'service.kubernetes.io/headless';

function service(name: string, o: { labels?: Record<string, string>; clusterIP?: string } = {}) {
  const clusterIP = o.clusterIP ?? '10.96.0.10';
  return {
    kind: 'Service',
    metadata: { name, namespace: 'default', labels: o.labels },
    spec: { clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
  };
}

function slice(name: string, svc: string, labels: Record<string, string> = {}) {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc, ...labels } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }],
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

let fake: FakeApiServer | undefined;
let source: ClusterSource | undefined;
afterEach(async () => {
  await source?.stop();
  await fake?.close();
  fake = source = undefined;
});

async function start(opts: { fake?: FakeApiServerOptions; source?: Partial<ClusterSourceOptions>; objects?: any[] } = {}) {
  fake = await FakeApiServer.start(opts.fake);
  fake.apply({ kind: 'Node', metadata: { name: NODE } });
  fake.apply({ kind: 'Node', metadata: { name: 'node-b' } });
  for (const o of opts.objects ?? []) fake.apply(o);
  const logger = recordingLogger();
  const restarts: ObjectKind[] = [];
  source = new ClusterSource({
    kubeConfig: fake.kubeConfig(), nodeName: NODE, logger, onRestart: (k) => restarts.push(k),
    backoff: { initialMs: 50, maxMs: 400, jitter: 0 }, ...opts.source,
  });
  const sink = new RecordingSink();
  await source.start(sink);
  await eventually(() => expect([...sink.syncedKinds].sort()).toEqual([...KINDS, 'Endpoints'].sort()));
  await eventually(() => expect(KINDS.map((k) => fake!.openWatches(k))).toEqual(KINDS.map(() => 1)));
  return { fake, sink, logger, restarts };
}

const of = (reqs: RecordedRequest[], kind: ObjectKind, watch: boolean) => reqs.filter((r) => r.kind === kind && r.watch === watch);
const selectors = (r: RecordedRequest) => [r.query.labelSelector, r.query.fieldSelector];

describe('ClusterSource selectors', () => {
  it('lists and watches each kind with kube-proxy\'s selectors, and no Endpoints by default', async () => {
    const { fake } = await start();
    const expected: Record<string, (string | undefined)[]> = {
      Service: [`!${PROXY_NAME}`, 'spec.clusterIP!=None'],
      EndpointSlice: [`!${HEADLESS}`, undefined],
      Node: [undefined, `metadata.name=${NODE}`],
      ServiceCIDR: [undefined, undefined],
    };
    for (const kind of KINDS) {
      for (const watch of [false, true]) {
        const reqs = of(fake.requests, kind, watch);
        expect(reqs).toHaveLength(1);
        expect(selectors(reqs[0])).toEqual(expected[kind]);
      }
      const [watch] = of(fake.requests, kind, true);
      expect(watch.query.allowWatchBookmarks).toBe('true');
      expect(of(fake.requests, kind, false)[0].query.limit).toBe('500');
    }
    expect(fake.requests.some((r) => r.kind === 'Endpoints')).toBe(false);
  });

  it('gets only the Services and EndpointSlices it proxies, and loses a Service that is relabelled away', async () => {
    const { fake, sink } = await start({
      objects: [
        service('web'),
        service('other-proxy', { labels: { [PROXY_NAME]: 'someone-else' } }),
        service('headless', { clusterIP: 'None' }),
        slice('web-1', 'web'),
        slice('headless-1', 'headless', { [HEADLESS]: '' }),
      ],
    });
    expect(sink.keys('Service')).toEqual(['default/web']);
    expect(sink.keys('EndpointSlice')).toEqual(['default/web-1']);
    // The server tells a watch about an object leaving its selection as DELETED, entering it as ADDED.
    fake.apply(service('web', { labels: { [PROXY_NAME]: 'someone-else' } }));
    fake.apply(service('other-proxy'));
    await eventually(() => expect(sink.keys('Service')).toEqual(['default/other-proxy']));
  });

  it('with a serviceProxyName, gets the Services labelled with it and no others', async () => {
    const { fake, sink } = await start({
      source: { serviceProxyName: 'sluice' },
      objects: [service('plain'), service('mine', { labels: { [PROXY_NAME]: 'sluice' } }), service('theirs', { labels: { [PROXY_NAME]: 'other' } })],
    });
    expect(sink.keys('Service')).toEqual(['default/mine']);
    for (const watch of [false, true]) expect(of(fake.requests, 'Service', watch)[0].query.labelSelector).toBe(`${PROXY_NAME}=sluice`);
  });

  it('refuses a serviceProxyName or node name that would change what a selector means', async () => {
    const kubeConfig = (await FakeApiServer.start().then((s) => { fake = s; return s; })).kubeConfig();
    expect(() => new ClusterSource({ kubeConfig, nodeName: NODE, logger: recordingLogger(), serviceProxyName: 'a,b' })).toThrow(/label value/);
    const bad = new ClusterSource({ kubeConfig, nodeName: 'x,metadata.name=y', logger: recordingLogger() });
    await expect(bad.start(new RecordingSink())).rejects.toThrow(/field selector/);
    expect(fake!.requests).toEqual([]);
  });

  it('on an API server before 1.31 (no spec.clusterIP field selector) lists Services without it, said once, no restart', async () => {
    const { fake, sink, logger, restarts } = await start({ fake: { noClusterIPFieldSelector: true }, objects: [service('web'), service('headless', { clusterIP: 'None' })] });
    // The model skips headless Services; here they arrive.
    expect(sink.keys('Service')).toEqual(['default/headless', 'default/web']);
    expect(of(fake.requests, 'Service', false).map((r) => [r.status, r.query.fieldSelector])).toEqual([[400, 'spec.clusterIP!=None'], [200, undefined]]);
    expect(of(fake.requests, 'Service', true).map((r) => r.query.fieldSelector)).toEqual([undefined]);
    expect(of(fake.requests, 'Service', true)[0].query.labelSelector).toBe(`!${PROXY_NAME}`);
    expect(logger.lines.filter((l) => l.msg.startsWith('the API server cannot filter')).map((l) => l.level)).toEqual(['info']);
    expect(restarts).toEqual([]);
  });
});

describe('ClusterSource paging', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => service(`svc-${String(i).padStart(4, '0')}`, { clusterIP: `10.96.${i >> 8}.${i & 255}` }));

  it('lists 1,201 Services in pages of 500 and watches from the snapshot\'s resourceVersion', async () => {
    const { fake, sink } = await start({ objects: many(1201) });
    const lists = of(fake.requests, 'Service', false);
    expect(lists.map((r) => [r.query.limit, r.query.continue !== undefined])).toEqual([['500', false], ['500', true], ['500', true]]);
    expect(sink.keys('Service')).toHaveLength(1201);
    expect(fake.pendingContinues).toBe(0);
    expect(of(fake.requests, 'Service', true)[0].query.resourceVersion).toBe(fake.resourceVersion);
  });

  it('pages come from one snapshot: a Service made while paging arrives by the watch, not a page', async () => {
    const f = await FakeApiServer.start();
    fake = f;
    for (const o of many(5)) f.apply(o);
    f.hold((r) => r.query.continue !== undefined); // park the second page
    const sink = await startOn(f, { pageSize: 2 });
    await eventually(() => expect(f.requests.filter((r) => r.query.continue !== undefined)).toHaveLength(1));
    const listedAt = f.resourceVersion;
    f.apply(service('aaa-late', { clusterIP: '10.96.9.9' }));
    f.release();
    await eventually(() => expect(sink.keys('Service')).toHaveLength(6));
    const watch = of(f.requests, 'Service', true)[0];
    expect(watch.query.resourceVersion).toBe(listedAt); // the snapshot's version, so the watch replays what came after
    expect(sink.calls.filter((c) => c.kind === 'Service' && c.op === 'synced').length).toBe(1);
    const upserts = sink.calls.filter((c) => c.kind === 'Service' && c.op === 'upsert').map((c) => (c as { key: string }).key);
    expect(upserts.indexOf('default/aaa-late')).toBe(5); // after the listed five, though it sorts first
  });

  it('when a continue token expires mid-list, lists again whole (no limit) and converges', async () => {
    const server = await FakeApiServer.start();
    fake = server;
    for (const o of many(5)) server.apply(o);
    server.hold((r) => r.query.continue !== undefined);
    const sink = await startOn(server, { pageSize: 2 });
    await eventually(() => expect(server.requests.filter((r) => r.query.continue !== undefined)).toHaveLength(1));
    server.expireContinues();
    server.release();
    await eventually(() => expect(sink.keys('Service')).toHaveLength(5));
    expect(of(server.requests, 'Service', false).map((r) => [r.status, r.query.limit, r.query.continue !== undefined]))
      .toEqual([[200, '2', false], [410, '2', true], [200, undefined, false]]);
  });
});

async function startOn(server: FakeApiServer, o: Partial<ClusterSourceOptions>): Promise<RecordingSink> {
  server.apply({ kind: 'Node', metadata: { name: NODE } });
  source = new ClusterSource({ kubeConfig: server.kubeConfig(), nodeName: NODE, logger: recordingLogger(), ...o });
  const sink = new RecordingSink();
  await source.start(sink);
  return sink;
}
