// The base chains of lib/nft/skeleton.ts, rule by rule, for the trace: their meaning is written out
// here once; the --kernel check compares both against what nft really does.
import { skeletonOf } from '../nft/skeleton.ts';
import { describeServicePort } from './labels.ts';
import { describeElement, lookup } from './lookup.ts';
import { gotoChain, note, type Result, type WalkState, type Walker } from './walk.ts';

/** Base chains and their hooks, as the skeleton declares them. */
export const BASE_CHAIN_HOOKS: Record<string, string> = Object.fromEntries(
  skeletonOf('ip', '0x0').chains.flatMap((c) => (c.hook ? [[c.name, `${c.hook.type} ${c.hook.hook}, priority ${c.hook.priority}`]] : [])),
);

export interface Skeleton {
  /** Whether an address is one of the node's own (`fib daddr type local`). */
  isLocal(address: string): boolean;
  saddr: string;
}

const isLoopback = (a: string) => a === '::1' || a.startsWith('127.');

/** filter-prerouting / filter-output-pre-dnat: a guarded load-balancer address drops sources its ranges do not allow. */
export function firewall(w: Walker, sk: Skeleton, s: WalkState, chain: string): Result {
  const guarded = lookup(w.table.elements['firewall-ips'], s.daddr, w.proto, s.dport);
  if (!guarded) return { state: s };
  const label = w.labels.byAddress(s.daddr, w.proto, s.dport);
  const allowed = lookup(w.table.elements['firewall-allow'], s.daddr, w.proto, s.dport, sk.saddr);
  if (allowed) return { state: note(s, `${chain}: source ${sk.saddr} allowed by @firewall-allow element ${describeElement(allowed)}`) };
  return {
    state: note(s, `${chain}: ${s.daddr} . ${w.proto} . ${s.dport} is in @firewall-ips and ${sk.saddr} in no @firewall-allow range: drop`),
    stop: { verdict: 'drop', reason: `source range: ${sk.saddr} is not in the loadBalancerSourceRanges of ${s.daddr}:${s.dport}/${w.proto}${label ? ` (${describeServicePort(label)})` : ''}` },
  };
}

/** services (jumped to from nat-prerouting and nat-output): the two dispatch maps. */
export function services(w: Walker, sk: Skeleton, s: WalkState): Result[] {
  const byAddress = lookup(w.table.elements['service-ips'], s.daddr, w.proto, s.dport);
  if (byAddress?.goto) {
    const sp = w.labels.byAddress(s.daddr, w.proto, s.dport);
    return gotoChain(w, byAddress.goto, note(s, `services: @service-ips element ${describeElement(byAddress)}${sp ? ` (${describeServicePort(sp)})` : ''}`));
  }
  if (lookup(w.table.elements['nodeport-ips'], s.daddr) && !isLoopback(s.daddr) && sk.isLocal(s.daddr)) {
    const byPort = lookup(w.table.elements['service-nodeports'], w.proto, s.dport);
    if (byPort?.goto) {
      const sp = w.labels.byNodePort(w.table.family === 'ip' ? 4 : 6, w.proto, s.dport);
      return gotoChain(w, byPort.goto, note(s, `services: ${s.daddr} is a node port address; @service-nodeports element ${describeElement(byPort)}${sp ? ` (${describeServicePort(sp)})` : ''}`));
    }
  }
  return [{ state: note(s, `services: ${s.daddr} . ${w.proto} . ${s.dport} is in no dispatch map`) }];
}

/** filter-*-post-dnat: a new connection still addressed to a service after DNAT has nowhere to go. */
export function postDnatRejects(w: Walker, sk: Skeleton, s: WalkState, chain: string): Result[] {
  const noEndpoint = lookup(w.table.elements['no-endpoint-services'], s.daddr, w.proto, s.dport);
  if (noEndpoint?.goto) {
    const sp = w.labels.byAddress(s.daddr, w.proto, s.dport);
    return gotoChain(w, noEndpoint.goto, note(s, `${chain}: @no-endpoint-services element ${describeElement(noEndpoint)}`),
      `no endpoints: ${sp ? describeServicePort(sp) : `${s.daddr}:${s.dport}/${w.proto}`} has no usable endpoint`);
  }
  if (lookup(w.table.elements['nodeport-ips'], s.daddr) && !isLoopback(s.daddr) && sk.isLocal(s.daddr)) {
    const byPort = lookup(w.table.elements['no-endpoint-nodeports'], w.proto, s.dport);
    if (byPort?.goto) {
      const sp = w.labels.byNodePort(w.table.family === 'ip' ? 4 : 6, w.proto, s.dport);
      return gotoChain(w, byPort.goto, note(s, `${chain}: @no-endpoint-nodeports element ${describeElement(byPort)}`),
        `no endpoints: node port ${s.dport}/${w.proto}${sp ? ` of ${describeServicePort(sp)}` : ''} has no usable endpoint`);
    }
  }
  if (lookup(w.table.elements['cluster-ips'], s.daddr)) {
    const how = `ICMP${w.table.family === 'ip6' ? 'v6' : ''} port unreachable`;
    return [{
      state: note(s, `${chain}: ${s.daddr} is in @cluster-ips: reject`),
      stop: { verdict: 'reject', reason: `undefined port: ${s.daddr} is a cluster IP, but no service defines ${s.dport}/${w.proto} on it: rejected with ${how}` },
    }];
  }
  const cidr = lookup(w.table.elements['service-cidrs'], s.daddr);
  if (cidr) {
    return [{
      state: note(s, `${chain}: ${s.daddr} is in @service-cidrs (${cidr.key[0]}): drop`),
      stop: { verdict: 'drop', reason: `unallocated service IP: ${s.daddr} is in the service CIDR ${cidr.key[0]}, and no Service has it` },
    }];
  }
  return [{ state: s }];
}

/** nat-postrouting: hairpin traffic, then the masquerade mark. */
export function postrouting(w: Walker, sk: Skeleton, s: WalkState): { state: WalkState; masquerade?: string } {
  if (s.dnat && lookup(w.table.elements.hairpin, sk.saddr, s.daddr)) {
    return { state: note(s, `nat-postrouting: ${sk.saddr} . ${s.daddr} is in @hairpin: masquerade`), masquerade: 'hairpin' };
  }
  if (s.mark) return { state: note(s, 'nat-postrouting: masquerade mark set: masquerade'), masquerade: s.mark.why };
  return { state: note(s, 'nat-postrouting: no masquerade mark: the source address is kept') };
}
