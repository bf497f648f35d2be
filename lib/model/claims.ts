// Which service holds which address, address/port and node port: the first service (by age) to
// claim one keeps it, a later one loses the conflict and is not served.
import type { ServiceDef } from './service.ts';

/** What a service claims: the keys it checks nobody else holds, and the keys it then holds. */
interface Claim { check: string[]; set: string[]; what: string }

const claimsOf = new WeakMap<ServiceDef, Claim[]>();

function claimsFor(def: ServiceDef): Claim[] {
  let claims = claimsOf.get(def);
  if (claims) return claims;
  // A cluster IP is one service's alone; load-balancer and external IPs may be shared by services on
  // different ports, but never be another service's cluster IP.
  claims = [];
  for (const ip of def.clusterIPs) {
    claims.push({ check: [`ip ${ip.address}`, `front ${ip.address}`], set: [`ip ${ip.address}`], what: `clusterIP ${ip.address}` });
  }
  for (const ip of new Set([...def.externalIPs, ...def.loadBalancerIPs].map((i) => i.address))) {
    for (const p of def.ports) {
      const at = `${ip} ${p.protocol}/${p.port}`;
      claims.push({ check: [`ip ${ip}`, `front ${at}`], set: [`front ${at}`, `front ${ip}`], what: `address ${at}` });
    }
  }
  for (const p of def.ports) {
    if (p.nodePort === undefined) continue;
    const key = `nodePort ${p.protocol}/${p.nodePort}`;
    claims.push({ check: [key], set: [key], what: `nodePort ${p.nodePort}/${p.protocol}` });
  }
  claimsOf.set(def, claims);
  return claims;
}

export class Claims {
  private owners = new Map<string, string>();

  /** Why `def` loses to a service that claimed before it, or undefined when it wins (and holds its keys from now on). */
  claim(def: ServiceDef): string | undefined {
    const me = `${def.namespace}/${def.name}`;
    const claims = claimsFor(def);
    for (const { check, what } of claims) {
      for (const key of check) {
        const owner = this.owners.get(key);
        if (owner !== undefined && owner !== me) return `${what} already belongs to Service ${owner}`;
      }
    }
    for (const { set } of claims) for (const key of set) if (!this.owners.has(key)) this.owners.set(key, me);
    return undefined;
  }
}

/**
 * Which services name each key in their claims, whether they won it or not: a service that shares no
 * key with another can neither win nor lose a conflict, so a change to it leaves every other
 * service's conflicts as they were (live-model.ts).
 */
export class ClaimIndex {
  private byKey = new Map<string, Set<string>>();

  constructor(defs: Iterable<[string, ServiceDef | undefined]>) {
    for (const [service, def] of defs) if (def) this.add(service, def);
  }

  add(service: string, def: ServiceDef): void {
    for (const key of keysOf(def)) {
      let holders = this.byKey.get(key);
      if (!holders) this.byKey.set(key, (holders = new Set()));
      holders.add(service);
    }
  }

  remove(service: string, def: ServiceDef): void {
    for (const key of keysOf(def)) {
      const holders = this.byKey.get(key);
      holders?.delete(service);
      if (holders?.size === 0) this.byKey.delete(key);
    }
  }

  /** Whether another service names one of the keys of `def`. */
  shared(service: string, def: ServiceDef): boolean {
    for (const key of keysOf(def)) for (const holder of this.byKey.get(key) ?? []) if (holder !== service) return true;
    return false;
  }
}

function keysOf(def: ServiceDef): Set<string> {
  return new Set(claimsFor(def).flatMap((c) => [...c.check, ...c.set]));
}
