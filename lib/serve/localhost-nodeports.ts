// Localhost NodePorts (`nodePortAddresses: [..., localhost]`), as kube-proxy 1.37's nftables mode
// has them (KEP-6032, pkg/proxy/localnodeportproxy): the kernel never DNATs loopback (nftables has
// no route_localnet), so a small userspace proxy listens on 127.0.0.1:<nodePort> (and [::1] for
// IPv6 service ports) for every TCP node port and copies each connection to one of the endpoints,
// picked at random. UDP and SCTP get no listener, as in kube-proxy.
import net from 'node:net';
import type { Logger } from '../log.ts';
import { categorizeEndpoints } from '../model/categorize.ts';
import type { Family, ProxyModel } from '../model/types.ts';
import type { IPFamily } from './ip-family.ts';
import type { SluiceMetrics } from './metrics.ts';

/** One listener: a TCP node port of one family and where its connections go. */
export interface LocalhostNodePort {
  family: Family;
  nodePort: number;
  /** namespace/name:port, for logs. */
  service: string;
  endpoints: { address: string; port: number }[];
  /** ClientIP affinity: every connection comes from loopback, so the whole listener sticks to one endpoint (as kube-proxy). */
  affinityTimeoutMs?: number;
}

/**
 * The listeners the model wants: TCP service ports with a node port and an endpoint to send to.
 * Endpoints as kube-proxy's localhost proxy picks them (KEP-6032 "Service Feature Support"):
 * externalTrafficPolicy Cluster the cluster endpoints, Local only this node's (no listener when
 * there is none, so connections are refused rather than sent off the node).
 */
export function localhostNodePorts(model: ProxyModel): LocalhostNodePort[] {
  const out: LocalhostNodePort[] = [];
  for (const sp of model.servicePorts) {
    if (sp.protocol !== 'tcp' || sp.nodePort === undefined) continue;
    const c = categorizeEndpoints(sp, model.node.name, model.node.zone);
    const eps = sp.externalPolicyLocal ? c.local : c.cluster;
    if (eps.length === 0) continue;
    out.push({
      family: sp.family, nodePort: sp.nodePort,
      service: `${sp.namespace}/${sp.name}${sp.portName ? ':' + sp.portName : ''}`,
      endpoints: eps.map((e) => ({ address: e.address, port: e.port })),
      affinityTimeoutMs: sp.affinityTimeout === undefined ? undefined : sp.affinityTimeout * 1000,
    });
  }
  return out;
}

export interface LocalhostNodePorts {
  /** Makes the listeners exactly `desired`: opens new ones, closes gone ones (and their connections),
   * updates the others in place. A port that cannot be opened is logged and tried again next sync. */
  sync(desired: readonly LocalhostNodePort[]): Promise<void>;
  /** The listening addresses, "127.0.0.1:30080" or "[::1]:30080", sorted. */
  listening(): string[];
  close(): Promise<void>;
}

export interface LocalhostNodePortsOptions {
  logger: Logger;
  metrics?: SluiceMetrics;
  /** Index of the endpoint a new connection goes to (default random, as kube-proxy). */
  pick?: (n: number) => number;
  now?: () => number;
  /** Where each family listens (default 127.0.0.1 and ::1). */
  hosts?: Record<Family, string>;
}

// kube-proxy's dialTimeout: a connection to an endpoint that does not answer is given up after 5 s.
const DIAL_TIMEOUT_MS = 5000;
const FAMILY: Record<Family, IPFamily> = { 4: 'IPv4', 6: 'IPv6' };

interface Listener {
  server: net.Server;
  spec: LocalhostNodePort;
  address: string;
  sockets: Set<net.Socket>;
  closing?: boolean;
  pinned?: { key: string; lastUsed: number };
}

export function createLocalhostNodePorts(opts: LocalhostNodePortsOptions): LocalhostNodePorts {
  const { logger, metrics } = opts;
  const pick = opts.pick ?? ((n: number) => Math.floor(Math.random() * n));
  const now = opts.now ?? Date.now;
  const hosts = opts.hosts ?? { 4: '127.0.0.1', 6: '::1' };
  const listeners = new Map<string, Listener>();
  let queue: Promise<void> = Promise.resolve(); // syncs run one at a time, in call order

  const keyOf = (s: { family: Family; nodePort: number }) => `${s.family}/${s.nodePort}`;

  const chooseEndpoint = (l: Listener) => {
    const { endpoints, affinityTimeoutMs } = l.spec;
    const t = now();
    if (affinityTimeoutMs !== undefined && l.pinned && t - l.pinned.lastUsed <= affinityTimeoutMs) {
      const e = endpoints.find((x) => `${x.address}/${x.port}` === l.pinned!.key);
      if (e) {
        l.pinned.lastUsed = t;
        return e;
      }
    }
    const e = endpoints[pick(endpoints.length)];
    if (affinityTimeoutMs !== undefined) l.pinned = { key: `${e.address}/${e.port}`, lastUsed: t };
    return e;
  };

  const proxy = (l: Listener, client: net.Socket) => {
    // A connection accepted while the listener is being shut would keep server.close() waiting.
    if (l.closing) return void client.destroy();
    const ip_family = FAMILY[l.spec.family];
    const ep = chooseEndpoint(l);
    // allowHalfOpen on both sides: a client that half-closes after its request still gets the answer.
    const upstream = net.connect({ host: ep.address, port: ep.port, allowHalfOpen: true });
    l.sockets.add(client).add(upstream);
    let connected = false;
    // A broken side (error, dial timeout) resets both, so the client sees a broken connection, never a
    // clean end. A clean end is left to the pipes: each side closes once what it holds is written.
    const reset = () => {
      for (const s of [client, upstream]) if (!s.destroyed) s.resetAndDestroy();
    };
    const closed = (s: net.Socket) => () => {
      l.sockets.delete(s);
      if (connected && !l.sockets.has(client) && !l.sockets.has(upstream)) metrics?.localhostNodePortConnectionsActive.dec({ ip_family });
    };
    upstream.setTimeout(DIAL_TIMEOUT_MS, () => upstream.destroy(new Error(`no answer in ${DIAL_TIMEOUT_MS} ms`)));
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      metrics?.localhostNodePortConnectionsTotal.inc({ ip_family, result: 'proxied' });
      metrics?.localhostNodePortConnectionsActive.inc({ ip_family });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', (err) => {
      if (!connected) {
        metrics?.localhostNodePortConnectionsTotal.inc({ ip_family, result: 'endpoint-unreachable' });
        logger.warn('localhost node port: cannot reach endpoint', { address: l.address, service: l.spec.service, endpoint: `${ep.address}:${ep.port}`, error: String(err) });
      }
      reset();
    });
    client.on('error', reset);
    upstream.on('close', closed(upstream));
    client.on('close', closed(client));
  };

  const open = async (spec: LocalhostNodePort) => {
    const host = hosts[spec.family];
    const address = spec.family === 6 ? `[${host}]:${spec.nodePort}` : `${host}:${spec.nodePort}`;
    const l: Listener = { server: net.createServer({ allowHalfOpen: true }), spec, address, sockets: new Set() };
    l.server.on('connection', (client) => proxy(l, client));
    try {
      await new Promise<void>((resolve, reject) => {
        l.server.once('error', reject);
        l.server.listen({ host, port: spec.nodePort, ipv6Only: spec.family === 6 }, () => {
          l.server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      metrics?.localhostNodePortListenerCreationFailuresTotal.inc({ ip_family: FAMILY[spec.family] });
      logger.error('cannot open localhost node port, will retry on next sync', { address, service: spec.service, error: String(err) });
      return;
    }
    l.server.on('error', (err) => logger.error('localhost node port error', { address, error: String(err) }));
    listeners.set(keyOf(spec), l);
    logger.info('opened localhost node port', { address, service: spec.service, endpoints: spec.endpoints.length });
  };

  const shut = async (key: string) => {
    const l = listeners.get(key)!;
    listeners.delete(key);
    l.closing = true;
    const closed = new Promise<void>((resolve) => l.server.close(() => resolve()));
    // As kube-proxy: a listener that goes takes its connections with it (reset, not ended cleanly).
    for (const s of l.sockets) s.resetAndDestroy();
    await closed;
    logger.info('closed localhost node port', { address: l.address });
  };

  const countListeners = () => {
    if (!metrics) return;
    for (const f of [4, 6] as const) {
      metrics.localhostNodePortListeners.set({ ip_family: FAMILY[f] }, [...listeners.values()].filter((l) => l.spec.family === f).length);
    }
  };

  const apply = async (desired: readonly LocalhostNodePort[]) => {
    const wanted = new Map(desired.filter((d) => d.endpoints.length > 0).map((d) => [keyOf(d), d]));
    const gone = [...listeners.keys()].filter((k) => !wanted.has(k));
    const fresh = [...wanted].filter(([k]) => !listeners.has(k)).map(([, d]) => d);
    for (const [k, d] of wanted) {
      const l = listeners.get(k);
      if (!l) continue;
      // A new affinity timeout starts the pin over, as kube-proxy's update().
      if (l.spec.affinityTimeoutMs !== d.affinityTimeoutMs) l.pinned = undefined;
      l.spec = d;
    }
    await Promise.all([...gone.map(shut), ...fresh.map(open)]);
    countListeners();
  };

  return {
    sync(desired) {
      const run = queue.then(() => apply(desired));
      queue = run.catch(() => {});
      return run;
    },
    listening: () => [...listeners.values()].map((l) => l.address).sort(),
    async close() {
      await queue;
      await Promise.all([...listeners.keys()].map(shut));
      countListeners();
    },
  };
}
