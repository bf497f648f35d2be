// Localhost node ports (lib/serve/localhost-nodeports.ts): which listeners a model wants, and the
// listener set following syncs with real TCP on 127.0.0.1 and ::1 against small backends there.
import net from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import { ConfigError, parseConfig } from '../../lib/config/kube-proxy-config.ts';
import { recordingLogger } from '../../lib/log.ts';
import { buildModel } from '../../lib/model/build.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { planRuleset } from '../../lib/plan/plan.ts';
import { createLocalhostNodePorts, localhostNodePorts, type LocalhostNodePort, type LocalhostNodePorts } from '../../lib/serve/localhost-nodeports.ts';
import { createMetrics } from '../../lib/serve/metrics.ts';
import { freePort, occupy } from './helpers.ts';

// --- which listeners the model wants ---

const NODE = 'node1';
const nodeObj: KubeObject = { kind: 'Node', metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }] } } as KubeObject;

function service(name: string, spec: Record<string, unknown>): KubeObject {
  return { kind: 'Service', metadata: { name, namespace: 'lab' }, spec: { clusterIP: '10.96.0.10', ...spec } } as KubeObject;
}
function slice(name: string, endpoints: { ip: string; node: string; ready?: boolean; terminating?: boolean }[], opts: { family?: 'IPv4' | 'IPv6'; protocol?: string; port?: number } = {}): KubeObject {
  return {
    kind: 'EndpointSlice', metadata: { name: `${name}-${(opts.family ?? 'IPv4').toLowerCase()}`, namespace: 'lab', labels: { 'kubernetes.io/service-name': name } },
    addressType: opts.family ?? 'IPv4', ports: [{ port: opts.port ?? 9376, protocol: opts.protocol ?? 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip], nodeName: e.node,
      conditions: { ready: e.ready ?? true, serving: true, terminating: e.terminating ?? false },
    })),
  } as KubeObject;
}
function model(services: KubeObject[], slices: KubeObject[]) {
  const m = buildModel({ services, endpointSlices: slices, endpoints: [], nodes: [nodeObj] }, NODE);
  expect(m.problems).toEqual([]); // every object was read: an empty answer below is the function's, not a typo's
  return m;
}
const targets = (l: LocalhostNodePort) => l.endpoints.map((e) => `${e.address}:${e.port}`);

const BOTH = [{ ip: '10.244.1.11', node: 'node1' }, { ip: '10.244.2.11', node: 'node2' }];

describe('the listeners a model wants', () => {
  test('a TCP node port with externalTrafficPolicy Cluster sends to every cluster endpoint', () => {
    const m = model([service('web', { type: 'NodePort', ports: [{ port: 80, targetPort: 9376, nodePort: 30080 }] })], [slice('web', BOTH)]);
    const want = localhostNodePorts(m);
    expect(want.map((l) => [l.family, l.nodePort, l.service])).toEqual([[4, 30080, 'lab/web']]);
    expect(targets(want[0])).toEqual(['10.244.1.11:9376', '10.244.2.11:9376']);
    expect(want[0].affinityTimeoutMs).toBeUndefined();
  });

  test('externalTrafficPolicy Local: only this node\'s endpoints, and no listener without one (as kube-proxy)', () => {
    const local = service('local', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 9376, nodePort: 30081 }] });
    expect(localhostNodePorts(model([local], [slice('local', BOTH)])).map(targets)).toEqual([['10.244.1.11:9376']]);
    expect(localhostNodePorts(model([local], [slice('local', [BOTH[1]])]))).toEqual([]);
  });

  test('UDP node ports, ports without a node port and ports without endpoints get no listener', () => {
    const m = model([
      service('dns', { type: 'NodePort', clusterIP: '10.96.0.11', ports: [{ port: 53, protocol: 'UDP', targetPort: 9376, nodePort: 30053 }] }),
      service('internal', { clusterIP: '10.96.0.12', ports: [{ port: 80, targetPort: 9376 }] }),
      service('empty', { type: 'NodePort', clusterIP: '10.96.0.13', ports: [{ port: 80, targetPort: 9376, nodePort: 30082 }] }),
    ], [slice('dns', BOTH, { protocol: 'UDP' }), slice('internal', BOTH)]);
    expect(m.servicePorts.map((sp) => sp.name).sort()).toEqual(['dns', 'empty', 'internal']); // all three were read
    expect(localhostNodePorts(m)).toEqual([]);
  });

  test('a dual-stack service gets one listener per family, each with its family\'s endpoints; ClientIP affinity is carried', () => {
    const m = model([service('dual', {
      type: 'NodePort', ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack', clusterIPs: ['10.96.0.10', 'fd00:96::10'],
      sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      ports: [{ port: 80, targetPort: 9376, nodePort: 30083 }],
    })], [slice('dual', BOTH), slice('dual', [{ ip: 'fd00:244:1::11', node: 'node1' }], { family: 'IPv6' })]);
    const want = localhostNodePorts(m).sort((a, b) => a.family - b.family);
    expect(want.map((l) => [l.family, l.nodePort, targets(l), l.affinityTimeoutMs])).toEqual([
      [4, 30083, ['10.244.1.11:9376', '10.244.2.11:9376'], 60_000],
      [6, 30083, ['fd00:244:1::11:9376'], 60_000],
    ]);
  });
});

describe('nodePortAddresses: localhost', () => {
  const doc = (nodePortAddresses: unknown) => ({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', nodePortAddresses });

  test('is accepted beside primary and CIDRs; anything else that is not a CIDR is an error naming the entry', () => {
    const warnings: string[] = [];
    expect(parseConfig(doc(['primary', 'localhost']), (w) => warnings.push(w)).nodePortAddresses).toEqual(['primary', 'localhost']);
    expect(warnings).toEqual([]);
    expect(parseConfig(doc(['localhost', '192.0.2.0/24']), () => {}).nodePortAddresses).toEqual(['localhost', expect.objectContaining({ cidr: '192.0.2.0/24' })]);
    expect(() => parseConfig(doc(['primary', 'loopback']), () => {})).toThrow(ConfigError);
    expect(() => parseConfig(doc(['primary', 'loopback']), () => {})).toThrow('nodePortAddresses[1]: "loopback" is not a CIDR, "primary" or "localhost"');
  });

  test('never reaches the rules: the ruleset is the one of the same list without it', () => {
    const m = model([service('web', { type: 'NodePort', ports: [{ port: 80, targetPort: 9376, nodePort: 30080 }] })], [slice('web', BOTH)]);
    const withIt = planRuleset(m, parseConfig(doc(['primary', 'localhost']), () => {}));
    const without = planRuleset(m, parseConfig(doc(['primary']), () => {}));
    expect(withIt).toEqual(without);
    expect(JSON.stringify(withIt)).toContain('172.30.0.1'); // the primary address is there: the comparison compares something
    expect(JSON.stringify(withIt)).not.toContain('127.0.0');
  });
});

// --- the listener set, with real sockets ---

interface Backend { name: string; port: number; connections: number; close(): Promise<void> }
const backends: Backend[] = [];
let proxy: LocalhostNodePorts | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

/** A backend on host that answers "<name> <what it read>" once the client has sent its request and half-closed. */
async function backend(name: string, host = '127.0.0.1'): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    b.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => (got += d)).on('end', () => s.end(`${name} ${got}`));
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const b: Backend = {
    name, port: (server.address() as net.AddressInfo).port, connections: 0,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  backends.push(b);
  return b;
}

/** Connects, sends `request` and half-closes, and resolves with everything read until the proxy closes. */
function ask(port: number, request = 'hello', host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, allowHalfOpen: true });
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => (got += d));
    s.on('connect', () => s.end(request));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
  });
}

async function refused(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    await ask(port, 'x', host);
    return false;
  } catch (err: any) {
    return err.code === 'ECONNREFUSED';
  }
}

const spec = (nodePort: number, bs: Backend[], extra: Partial<LocalhostNodePort> = {}): LocalhostNodePort => ({
  family: 4, nodePort, service: `lab/svc${nodePort}`, endpoints: bs.map((b) => ({ address: '127.0.0.1', port: b.port })), ...extra,
});

function make(opts: { pick?: (n: number) => number; now?: () => number } = {}) {
  const logger = recordingLogger();
  const metrics = createMetrics({ families: ['IPv4', 'IPv6'], processMetrics: false });
  proxy = createLocalhostNodePorts({ logger, metrics, ...opts });
  return { proxy, logger, metrics };
}
const value = async (metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>) =>
  (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;

describe('the listener set', () => {
  test('listens on 127.0.0.1:<nodePort> for each wanted port and proxies a connection to an endpoint, both ways', async () => {
    const { proxy, metrics } = make();
    const [a, b] = [await backend('a'), await backend('b')];
    const [p1, p2] = [await freePort(), await freePort()];
    await proxy.sync([spec(p1, [a]), spec(p2, [b])]);
    expect(proxy.listening()).toEqual([`127.0.0.1:${p1}`, `127.0.0.1:${p2}`].sort());
    // The request reached the backend (its answer quotes it) and the answer came back after the half-close.
    expect(await ask(p1, 'ping')).toBe('a ping');
    expect(await ask(p2, 'pong')).toBe('b pong');
    expect(await value(metrics, 'kubeproxy_nftables_localhost_nodeport_listeners', { ip_family: 'IPv4' })).toBe(2);
    expect(await value(metrics, 'sluice_localhost_nodeport_connections_total', { ip_family: 'IPv4', result: 'proxied' })).toBe(2);
  });

  test('follows each sync: opens new ports, closes gone ones, keeps unchanged ones open (and their connections)', async () => {
    const { proxy, logger } = make();
    const a = await backend('a');
    const [keep, gone, added] = [await freePort(), await freePort(), await freePort()];
    await proxy.sync([spec(keep, [a]), spec(gone, [a])]);

    // A connection in flight on the kept port, request sent but not finished.
    const inFlight = net.connect({ host: '127.0.0.1', port: keep, allowHalfOpen: true });
    let got = '';
    inFlight.setEncoding('utf8').on('data', (d: string) => (got += d));
    const closed = new Promise<void>((resolve) => inFlight.on('close', () => resolve()));
    await new Promise<void>((resolve) => inFlight.on('connect', () => resolve()));
    inFlight.write('slow ');

    await proxy.sync([spec(keep, [a]), spec(added, [a])]);
    expect(proxy.listening()).toEqual([`127.0.0.1:${keep}`, `127.0.0.1:${added}`].sort());
    expect(await refused(gone)).toBe(true);
    expect(await ask(added)).toBe('a hello');
    // The kept port was opened once, never reopened.
    expect(logger.lines.filter((e) => e.msg === 'opened localhost node port' && e.fields?.address === `127.0.0.1:${keep}`)).toHaveLength(1);
    expect(logger.lines.filter((e) => e.msg === 'closed localhost node port').map((e) => e.fields?.address)).toEqual([`127.0.0.1:${gone}`]);

    inFlight.end('request');
    await closed;
    expect(got).toBe('a slow request');
  });

  test('a large answer to a slow reader arrives whole, to its last byte', async () => {
    const { proxy } = make();
    const SIZE = 16 * 1024 * 1024;
    const big = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      s.resume().on('end', () => s.end(Buffer.alloc(SIZE, 7)));
    });
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', () => resolve()));
    backends.push({ name: 'big', port: (big.address() as net.AddressInfo).port, connections: 0, close: () => new Promise<void>((r) => big.close(() => r())) });
    const port = await freePort();
    await proxy.sync([{ family: 4, nodePort: port, service: 'lab/big', endpoints: [{ address: '127.0.0.1', port: backends.at(-1)!.port }] }]);
    const got = await new Promise<number>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      let n = 0;
      s.on('connect', () => s.end('GET'));
      s.pause(); // a slow reader: the proxy holds what the kernel cannot take yet
      // Then reads in small sips, so the proxy's writes to it keep waiting on the kernel to the end.
      setTimeout(() => s.on('data', (d: Buffer) => {
        n += d.length;
        s.pause();
        setTimeout(() => s.resume(), 1);
      }).resume(), 300);
      s.on('error', reject);
      s.on('close', () => resolve(n));
    });
    expect(got).toBe(SIZE);
  });

  test('new endpoints apply to new connections without reopening the port; no endpoint left closes it', async () => {
    const { proxy, logger } = make();
    const [a, b] = [await backend('a'), await backend('b')];
    const port = await freePort();
    await proxy.sync([spec(port, [a])]);
    expect(await ask(port)).toBe('a hello');
    await proxy.sync([spec(port, [b])]);
    expect(await ask(port)).toBe('b hello');
    expect(logger.lines.filter((e) => e.msg === 'opened localhost node port')).toHaveLength(1);
    await proxy.sync([spec(port, [])]);
    expect(proxy.listening()).toEqual([]);
    expect(await refused(port)).toBe(true);
  });

  test('picks an endpoint at random for each connection', async () => {
    const { proxy } = make();
    const bs = [await backend('a'), await backend('b'), await backend('c')];
    const port = await freePort();
    await proxy.sync([spec(port, bs)]);
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 3; i++) seen.add((await ask(port)).split(' ')[0]);
    // 60 tries miss one of three endpoints with chance 3 * (2/3)^60, about 1e-10.
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
  });

  test('ClientIP affinity pins the whole listener to one endpoint until the timeout passes unused (as kube-proxy)', async () => {
    let t = 1_000_000;
    let next = 0;
    const { proxy } = make({ now: () => t, pick: (n) => next++ % n });
    const [a, b] = [await backend('a'), await backend('b')];
    const port = await freePort();
    await proxy.sync([spec(port, [a, b], { affinityTimeoutMs: 10_000 })]);
    expect(await ask(port)).toBe('a hello');
    t += 9_000;
    expect(await ask(port)).toBe('a hello'); // still pinned, and the pin's clock starts again
    t += 9_000;
    expect(await ask(port)).toBe('a hello');
    t += 10_001;
    expect(await ask(port)).toBe('b hello'); // unused longer than the timeout: picked anew
  });

  test('a port that cannot be opened is logged, counted, and opened on a later sync once free', async () => {
    const { proxy, logger, metrics } = make();
    const a = await backend('a');
    const port = await freePort();
    const holder = await occupy(port);
    await proxy.sync([spec(port, [a])]);
    expect(proxy.listening()).toEqual([]);
    expect(logger.lines.filter((e) => e.msg === 'cannot open localhost node port, will retry on next sync').map((e) => e.fields?.address)).toEqual([`127.0.0.1:${port}`]);
    expect(await value(metrics, 'kubeproxy_nftables_localhost_nodeport_listener_creation_failures_total', { ip_family: 'IPv4' })).toBe(1);
    await holder.release();
    await proxy.sync([spec(port, [a])]);
    expect(proxy.listening()).toEqual([`127.0.0.1:${port}`]);
    expect(await ask(port)).toBe('a hello');
  });

  test('an endpoint that refuses: the client\'s connection is reset, the failure logged and counted', async () => {
    const { proxy, logger, metrics } = make();
    const [dead, port] = [await freePort(), await freePort()];
    await proxy.sync([{ family: 4, nodePort: port, service: 'lab/dead', endpoints: [{ address: '127.0.0.1', port: dead }] }]);
    await expect(ask(port)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(logger.lines.filter((e) => e.msg === 'localhost node port: cannot reach endpoint').map((e) => e.fields?.endpoint)).toEqual([`127.0.0.1:${dead}`]);
    expect(await value(metrics, 'sluice_localhost_nodeport_connections_total', { ip_family: 'IPv4', result: 'endpoint-unreachable' })).toBe(1);
    expect(await value(metrics, 'sluice_localhost_nodeport_connections_active', { ip_family: 'IPv4' })).toBe(0);
  });

  test('counts active connections while they are proxied', async () => {
    const { proxy, metrics } = make();
    const a = await backend('a');
    const port = await freePort();
    await proxy.sync([spec(port, [a])]);
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
    s.on('data', () => {});
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    for (let i = 0; i < 50 && a.connections === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await value(metrics, 'sluice_localhost_nodeport_connections_active', { ip_family: 'IPv4' })).toBe(1);
    s.end('bye');
    await closed;
    for (let i = 0; i < 50 && (await value(metrics, 'sluice_localhost_nodeport_connections_active', { ip_family: 'IPv4' })) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await value(metrics, 'sluice_localhost_nodeport_connections_active', { ip_family: 'IPv4' })).toBe(0);
  });

  test('IPv6 service ports listen on [::1], and only there', async () => {
    const { proxy, metrics } = make();
    const a = await backend('a6', '::1');
    const port = await freePort();
    await proxy.sync([{ family: 6, nodePort: port, service: 'lab/v6', endpoints: [{ address: '::1', port: a.port }] }]);
    expect(proxy.listening()).toEqual([`[::1]:${port}`]);
    expect(await ask(port, 'hi', '::1')).toBe('a6 hi');
    expect(await refused(port, '127.0.0.1')).toBe(true);
    expect(await value(metrics, 'kubeproxy_nftables_localhost_nodeport_listeners', { ip_family: 'IPv6' })).toBe(1);
    expect(await value(metrics, 'kubeproxy_nftables_localhost_nodeport_listeners', { ip_family: 'IPv4' })).toBe(0);
  });

  test('close() shuts every port and resets connections in flight', async () => {
    const { proxy, metrics } = make();
    const a = await backend('a');
    const port = await freePort();
    await proxy.sync([spec(port, [a])]);
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const reset = new Promise<string | undefined>((resolve) => s.on('error', (e: any) => resolve(e.code)));
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    for (let i = 0; i < 50 && a.connections === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(a.connections).toBe(1); // proxied through to the backend, which now waits for the request
    await proxy.close();
    expect(await reset).toBe('ECONNRESET'); // the proxy dropped it: the backend would have waited for the request forever
    expect(await refused(port)).toBe(true);
    expect(await value(metrics, 'kubeproxy_nftables_localhost_nodeport_listeners', { ip_family: 'IPv4' })).toBe(0);
  });
});
