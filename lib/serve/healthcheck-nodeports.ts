// The per-service health checks cloud load balancers probe for `externalTrafficPolicy: Local`
// LoadBalancer services: on the service's healthCheckNodePort, 200 while this node has a local
// endpoint (and the proxy is healthy), 503 otherwise, so the balancer skips nodes without one.
// The body and headers are kube-proxy's (pkg/proxy/healthcheck/service_health.go).

import http from 'node:http';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log.ts';
import { cidrContains, parseIP, type ParsedCIDR } from '../model/ip.ts';
import { closeServer, listenOnce, sendJson } from './http.ts';

export interface HealthCheckService {
  namespace: string;
  name: string;
  /** Ready endpoints of the service on this node (terminating ones do not count: the node is drained). */
  localEndpoints: number;
}

export interface HealthCheckNodePorts {
  /**
   * Makes the open ports exactly `desired`: opens new ones, closes those no longer wanted, updates
   * the others in place. A port that cannot be opened is logged and tried again on the next sync.
   * `addresses` (when given) replaces where ports listen ('' is every address; an empty list, none);
   * open ports move to the new addresses.
   */
  sync(desired: ReadonlyMap<number, HealthCheckService>, addresses?: readonly string[]): Promise<void>;
  /** The ports being served, ascending. */
  ports(): number[];
  close(): Promise<void>;
}

export interface HealthCheckNodePortsOptions {
  logger: Logger;
  /** Where each port listens; absent or empty: every address of the node, as kube-proxy by default. */
  addresses?: readonly string[];
  /** The proxy's own health (ProxyHealth.healthy): while false every port answers 503. */
  proxyHealthy?: () => boolean;
  /** A port failed to open; kube-proxy records a FailedToStartServiceHealthcheck event here. */
  onListenError?: (port: number, service: HealthCheckService, error: Error) => void;
}

export function createHealthCheckNodePorts(opts: HealthCheckNodePortsOptions): HealthCheckNodePorts {
  const { logger } = opts;
  let addresses: readonly string[] = opts.addresses?.length ? opts.addresses : [''];
  const proxyHealthy = opts.proxyHealthy ?? (() => true);
  const wanted = new Map<number, HealthCheckService>();
  const servers = new Map<number, http.Server[]>();
  let queue: Promise<void> = Promise.resolve(); // syncs run one at a time, in call order

  const handler = (port: number): http.RequestListener => (_req, res) => {
    const svc = wanted.get(port);
    if (!svc) return sendJson(res, 503, { error: 'health check closing' });
    const serviceProxyHealthy = proxyHealthy();
    const ok = svc.localEndpoints > 0 && serviceProxyHealthy;
    // kube-proxy's body byte for byte: tab-indented, no final newline.
    const body = JSON.stringify({
      service: { namespace: svc.namespace, name: svc.name },
      localEndpoints: svc.localEndpoints,
      serviceProxyHealthy,
    }, null, '\t');
    res.writeHead(ok ? 200 : 503, {
      'Content-Type': 'application/json',
      'X-Content-Type-Options': 'nosniff',
      'X-Load-Balancing-Endpoint-Weight': String(svc.localEndpoints),
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const open = async (port: number, svc: HealthCheckService) => {
    const opened: http.Server[] = [];
    try {
      for (const host of addresses) {
        const server = http.createServer(handler(port));
        await listenOnce(server, { host, port });
        opened.push(server);
      }
      servers.set(port, opened);
      logger.info('opened health check node port', { port, service: `${svc.namespace}/${svc.name}` });
    } catch (err) {
      await Promise.all(opened.map(closeServer)); // all addresses or none, so the next sync retries cleanly
      logger.error('cannot open health check node port, will retry on next sync', { port, service: `${svc.namespace}/${svc.name}`, error: String(err) });
      opts.onListenError?.(port, svc, err as Error);
    }
  };

  const shut = async (port: number) => {
    const s = servers.get(port) ?? [];
    servers.delete(port);
    await Promise.all(s.map(closeServer));
    logger.info('closed health check node port', { port });
  };

  const apply = async (desired: ReadonlyMap<number, HealthCheckService>, next?: readonly string[]) => {
    if (next !== undefined && next.join(' ') !== addresses.join(' ')) {
      // The node's addresses changed: every port listens anew, on the new ones (none: served nowhere).
      await Promise.all([...servers.keys()].map(shut));
      addresses = [...next];
      if (addresses.length === 0) logger.warn('no address of this node is in nodePortAddresses: health check node ports are not served');
    }
    for (const port of [...wanted.keys()]) if (!desired.has(port)) wanted.delete(port);
    for (const [port, svc] of desired) wanted.set(port, { namespace: svc.namespace, name: svc.name, localEndpoints: svc.localEndpoints });
    const gone = [...servers.keys()].filter((p) => !wanted.has(p));
    const fresh = [...wanted].filter(([p]) => !servers.has(p));
    await Promise.all([...gone.map(shut), ...fresh.map(([p, svc]) => open(p, svc))]);
  };

  return {
    sync(desired, next) {
      const run = queue.then(() => apply(desired, next));
      queue = run.catch(() => {});
      return run;
    },
    ports: () => [...servers.keys()].sort((a, b) => a - b),
    async close() {
      await queue;
      wanted.clear();
      await Promise.all([...servers.keys()].map(shut));
    },
  };
}

/** What a nodePortAddresses entry is: 'primary', 'localhost', or a CIDR. */
export type NodePortAddress = 'primary' | 'localhost' | ParsedCIDR;

/**
 * Where health-check node ports listen, as kube-proxy: on this node's addresses that nodePortAddresses
 * covers ('primary' is the Node's InternalIPs, 'localhost' the loopback addresses, a CIDR the local
 * interface addresses in it), or on every address ([''] ) when a CIDR covers a whole family. Sorted,
 * so that an unchanged node gives the same list.
 */
export function healthCheckAddresses(nodePortAddresses: readonly NodePortAddress[], internalIPs: readonly string[], local: readonly string[] = localAddresses()): string[] {
  if (nodePortAddresses.some((a) => typeof a !== 'string' && a.prefix === 0)) return [''];
  const out = new Set<string>();
  const covered = (cidr: ParsedCIDR) => local.filter((ip) => { const p = parseIP(ip); return p !== undefined && cidrContains(cidr, p); });
  for (const a of nodePortAddresses) {
    if (a === 'primary') {
      for (const ip of internalIPs) out.add(ip);
    } else if (a === 'localhost') {
      for (const ip of local) if (ip === '::1' || ip.startsWith('127.')) out.add(ip);
    } else {
      for (const ip of covered(a)) out.add(ip);
    }
  }
  return [...out].sort();
}

/** This machine's interface addresses (IPv6 link-local ones carry a zone and are left out). */
function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flat().filter((i) => i !== undefined && !(i.family === 'IPv6' && i.scopeid)).map((i) => i!.address);
}
