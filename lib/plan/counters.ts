// Named counters of new connections (KubeProxyConfiguration `counters`): one per service port, and one
// per endpoint of it up to `maxEndpoints`. A service port's plan (service-port.ts) is rewritten here, so
// the rule shapes stay where they are made and counters off leaves every plan as it was, object for object.
//
// Where each counter is hit, once per new connection (the nat chains see only a connection's first packet):
// - the service port's: first in the svc/ and all/ chains, and in the ext/ chain after its gotos to those
//   (a pod or the node short-circuiting a Local service is counted there, not twice);
// - an endpoint's: in the rule that DNATs to it (the cascade's rule, or the ep/ chain of ClientIP affinity);
//   above 16 endpoints `dnat to numgen ... map @eps/...` cannot count per element, and a second numgen
//   for a counter map would draw another number than the DNAT's, so with counters on such a service picks
//   an ep/ chain per endpoint (`numgen random mod N vmap { i : goto ep/... }`), each counting and DNATing.
//   Maglev chains (dnat-hash) keep their map: their endpoints are not counted, the service port is.
import type { CountersConfig } from '../config/counters.ts';
import type { Endpoint, ServicePort } from '../model/types.ts';
import type { Chain, Rule } from '../nft/ir.ts';
import { endpointName, servicePortName } from './names.ts';
import type { ServicePortPlan } from './service-port.ts';

export interface CountedPlan extends ServicePortPlan {
  /** The counters the plan's rules hit: the service port's first, then its endpoints' in the order the rules name them. */
  counters: string[];
}

// Plans are cached per service port (plan.ts), and so is their counted form: unchanged service ports keep
// their chain objects, which the diff compares by identity.
const cache = new WeakMap<ServicePortPlan, { key: string; plan: CountedPlan }>();

export function withCounters(plan: ServicePortPlan, sp: ServicePort, cfg: CountersConfig | undefined): ServicePortPlan | CountedPlan {
  // A service port without endpoints has no chain to count in: its connections are rejected uncounted.
  if (!cfg?.enabled || !plan.serviceChain) return plan;
  const key = String(cfg.maxEndpoints);
  const hit = cache.get(plan);
  if (hit && hit.key === key) return hit.plan;
  const counted = countPlan(plan, sp, cfg.maxEndpoints);
  cache.set(plan, { key, plan: counted });
  return counted;
}

type Target = Pick<Endpoint, 'address' | 'port'>;

function countPlan(plan: ServicePortPlan, sp: ServicePort, maxEndpoints: number): CountedPlan {
  const chains = [plan.serviceChain, plan.shortCircuitChain, plan.externalChain, ...plan.endpointChains].filter((c): c is Chain => c !== undefined);
  const rules = chains.flatMap((c) => c.rules);
  const mapsByName = new Map(plan.endpointMaps.map((m) => [m.name, m]));
  const targets = new Map<string, Target>();
  for (const r of rules) {
    if (r.op === 'dnat' || r.op === 'dnat-chance') targets.set(`${r.address} ${r.port}`, r);
    if (r.op === 'dnat-random') {
      for (const el of mapsByName.get(r.map)?.elements ?? []) targets.set(`${el.value![0]} ${el.value![1]}`, { address: String(el.value![0]), port: Number(el.value![1]) });
    }
  }
  const perEndpoint = targets.size <= maxEndpoints && !rules.some((r) => r.op === 'dnat-hash');
  const serviceCounter = servicePortName('cnt', sp);
  const counters = [serviceCounter];
  const endpointCounter = (t: Target) => {
    const name = endpointName('cnt', sp, t as Endpoint);
    if (!counters.includes(name)) counters.push(name);
    return name;
  };

  // ep/ chains made for the map case, by name: svc/ and ext/ chains picking the same endpoints share them.
  const madeChains = new Map<string, Chain>();
  const endpointChain = (r: Extract<Rule, { op: 'dnat-random' }>, t: Target): string => {
    const name = endpointName('ep', sp, t as Endpoint);
    if (!madeChains.has(name)) madeChains.set(name, { name, rules: [{ op: 'dnat', family: r.family, proto: r.proto, address: t.address, port: t.port, counter: endpointCounter(t) }] });
    return name;
  };
  const countRule = (r: Rule): Rule => {
    if (!perEndpoint) return r;
    switch (r.op) {
      case 'dnat':
      case 'dnat-chance': return { ...r, counter: endpointCounter(r) };
      case 'dnat-random': {
        const els = [...(mapsByName.get(r.map)?.elements ?? [])].sort((a, b) => Number(a.key[0]) - Number(b.key[0]));
        return { op: 'pick-chain', chains: els.map((el) => endpointChain(r, { address: String(el.value![0]), port: Number(el.value![1]) })) };
      }
      default: return r;
    }
  };
  const rewrite = (c: Chain | undefined, counted: boolean): Chain | undefined => {
    if (!c) return undefined;
    const out = c.rules.map(countRule);
    if (counted) {
      // After the gotos that hand the connection to a chain which counts it itself.
      let at = 0;
      while (at < out.length && (out[at].op === 'goto-if-from-pods' || out[at].op === 'goto-if-from-node')) at++;
      out.splice(at, 0, { op: 'count', counter: serviceCounter });
    }
    return { ...c, rules: out };
  };

  const endpointChains = plan.endpointChains.map((c) => rewrite(c, false)!);
  const serviceChain = rewrite(plan.serviceChain, true);
  const shortCircuitChain = rewrite(plan.shortCircuitChain, true);
  const externalChain = rewrite(plan.externalChain, true);
  const used = new Set([serviceChain, shortCircuitChain, externalChain].flatMap((c) => c?.rules ?? []).flatMap((r) => (r.op === 'dnat-random' || r.op === 'dnat-hash' ? [r.map] : [])));
  return {
    ...plan,
    // A map every chain now picks from through ep/ chains is no longer declared.
    endpointMaps: plan.endpointMaps.filter((m) => used.has(m.name)),
    endpointChains: [...endpointChains, ...madeChains.values()],
    serviceChain, shortCircuitChain, externalChain,
    counters,
  };
}
