// Which UDP conntrack entries are stale, as kube-proxy's reconciler decides (pkg/proxy/conntrack):
// against the current model, from what the kernel holds, whatever happened before (entries made while
// sluice was down included). UDP has no connection for a client to lose: an entry keeps sending a
// flow's datagrams where it first went, so an entry pointing nowhere useful must go.
//
// An entry addressed to a UDP service port (its cluster, external or load-balancer IP and port; or,
// for any other address, its node port) is stale when its replies do not come from a serving endpoint
// (address and port) of that service port: the endpoint is gone or no longer serving, or the entry
// was never DNATed at all (its reply comes from the address it was sent to, as when the service had
// no endpoint, or no rules yet). Entries of a service port without any serving endpoint are left
// alone: deleting them would send the next datagram to the same reject.
//
// Endpoints that are still serving while terminating keep their flows, even when the rules send new
// flows elsewhere (ready endpoints exist, a traffic policy changed): a DNS server being replaced
// drains instead of losing its clients mid-query, and UDP behaves like TCP, whose flows outlive
// endpoint changes too.
import { categorizeEndpoints } from '../model/categorize.ts';
import type { Family, ProxyModel, ServicePort } from '../model/types.ts';
import type { UdpEntry } from './conntrack-entries.ts';

/**
 * A deletion: every UDP entry of this family with this original destination address and port and
 * this reply source address and port. Those four fields are all the decision reads, so every entry
 * a filter matches is stale, including one made after the listing.
 */
export interface StaleFlow {
  family: Family;
  origDst: string;
  origDport: number;
  replySrc: string;
  replySport: number;
}

/** For one family: the serving endpoints ("address|port") of each front door; an empty set for a door with none. */
export interface ServingIndex {
  family: Family;
  /** Keyed "address|port": cluster, external and load-balancer IPs. */
  byAddress: Map<string, Set<string>>;
  byNodePort: Map<number, Set<string>>;
}

const key = (address: string, port: number) => `${address}|${port}`;

/**
 * The endpoints whose flows are kept: kube-proxy keeps every serving one (ready, or terminating and
 * still serving); the endpoints the rules send new flows to (the one categorization's `reachable`)
 * are always among them, so a flow the rules would make is never cut.
 */
function keptEndpoints(sp: ServicePort, nodeName: string, zone?: string): Set<string> {
  const kept = new Set(categorizeEndpoints(sp, nodeName, zone).reachable.map((e) => key(e.address, e.port)));
  for (const e of sp.endpoints) if (e.serving) kept.add(key(e.address, e.port));
  return kept;
}

function addTo<K>(map: Map<K, Set<string>>, k: K, endpoints: Set<string>) {
  const had = map.get(k);
  if (!had) map.set(k, new Set(endpoints));
  else for (const e of endpoints) had.add(e);
}

export function servingIndex(model: ProxyModel, family: Family): ServingIndex {
  const index: ServingIndex = { family, byAddress: new Map(), byNodePort: new Map() };
  for (const sp of model.servicePorts) {
    if (sp.protocol !== 'udp' || sp.family !== family) continue;
    const kept = keptEndpoints(sp, model.node.name, model.node.zone);
    for (const ip of [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs]) addTo(index.byAddress, key(ip, sp.port), kept);
    if (sp.nodePort !== undefined) addTo(index.byNodePort, sp.nodePort, kept);
  }
  return index;
}

/** Whether an index could find anything stale: it has a door with serving endpoints. */
export function canHaveStale(index: ServingIndex): boolean {
  for (const m of [index.byAddress, index.byNodePort] as Map<unknown, Set<string>>[]) {
    for (const s of m.values()) if (s.size > 0) return true;
  }
  return false;
}

export function isStale(e: UdpEntry, index: ServingIndex): boolean {
  if (e.family !== index.family) return false;
  // A service address and port decide alone: its entries are never judged as another service's node
  // port that happens to have the same number (kube-proxy checks both and may delete such an entry).
  const kept = index.byAddress.get(key(e.origDst, e.origDport)) ?? index.byNodePort.get(e.origDport);
  return kept !== undefined && kept.size > 0 && !kept.has(key(e.replySrc, e.replySport));
}

/** Gathers the deletions for stale entries fed one at a time: one per distinct (door, reply source), in first-seen order. */
export function staleCollector(index: ServingIndex): { add(e: UdpEntry): void; flows(): StaleFlow[] } {
  const out = new Map<string, StaleFlow>();
  return {
    add(e) {
      if (!isStale(e, index)) return;
      const k = `${key(e.origDst, e.origDport)}>${key(e.replySrc, e.replySport)}`;
      if (!out.has(k)) out.set(k, { family: e.family, origDst: e.origDst, origDport: e.origDport, replySrc: e.replySrc, replySport: e.replySport });
    },
    flows: () => [...out.values()],
  };
}

/** The deletions for the stale entries among `entries`. */
export function staleFlows(entries: Iterable<UdpEntry>, index: ServingIndex): StaleFlow[] {
  const c = staleCollector(index);
  for (const e of entries) c.add(e);
  return c.flows();
}

/** The conntrack arguments of one deletion (also a line of a `conntrack -R` batch). */
export function deleteArgs(f: StaleFlow): string[] {
  return [
    '-D', '-f', f.family === 4 ? 'ipv4' : 'ipv6', '-p', 'udp',
    '--orig-dst', f.origDst, '--orig-port-dst', String(f.origDport),
    '--reply-src', f.replySrc, '--reply-port-src', String(f.replySport),
  ];
}
