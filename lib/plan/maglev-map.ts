// A service chain's Maglev pick: the table for its endpoints as a named map (slot to address . port)
// and the rule that hashes a new connection into it. Every node computes the same map for the same
// endpoints (maglev.ts orders them canonically) and the kernel's jhash with a fixed seed is the same
// on every node, so a flow lands on the same endpoint whichever node the routers send it through.
import type { LoadBalancing } from '../config/load-balancing.ts';
import type { Endpoint, ServicePort } from '../model/types.ts';
import type { EndpointMap, Rule } from '../nft/ir.ts';
import { backendName, maglevTable } from './maglev.ts';

/** jhash's seed: fixed, so that every node's kernel hashes a flow to the same slot. */
export const MAGLEV_SEED = '0x736c6963';

/**
 * The map and rule, or undefined when Maglev has nothing to add or cannot serve: one endpoint (a
 * plain dnat picks it, as every slot would), or more endpoints than slots (some would get none;
 * the chain picks at random instead).
 */
export function maglevPick(sp: ServicePort, endpoints: readonly Endpoint[], map: string, lb: LoadBalancing): { map: EndpointMap; rule: Rule } | undefined {
  if (endpoints.length < 2 || endpoints.length > lb.tableSize) return undefined;
  const byName = new Map(endpoints.map((e) => [backendName(e.address, e.port), e]));
  const family = sp.family === 4 ? 'ip' : 'ip6';
  const table = maglevTable([...byName.keys()], lb.tableSize);
  const values = table.backends.map((b) => [byName.get(b)!.address, byName.get(b)!.port]);
  return {
    map: { family, name: map, proto: sp.protocol, elements: table.slots.map((b, i) => ({ key: [i], value: values[b] })) },
    rule: { op: 'dnat-hash', family, proto: sp.protocol, map, size: lb.tableSize, hash: lb.hash, seed: MAGLEV_SEED },
  };
}
