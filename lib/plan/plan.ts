// From the model and the configuration to the ruleset: what each service port needs, per IP family.
// Pure and deterministic: the same model gives the same ruleset, element for element.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import type { Family, ProxyModel, ServicePort } from '../model/types.ts';
import { GLOBAL_SETS, type FamilyRuleset, type GlobalSetName, type PodSourceMatch, type Ruleset } from '../nft/ir.ts';
import { intervalElement, withoutCovered } from './elements.ts';
import { planServicePort, type PlanContext, type ServicePortPlan } from './service-port.ts';
import { withCounters } from './counters.ts';

export function planRuleset(model: ProxyModel, config: ProxyConfig): Ruleset {
  return { node: model.node.name, tables: ([4, 6] as const).map((f) => planFamily(model, config, f)) };
}

function planFamily(model: ProxyModel, config: ProxyConfig, family: Family): FamilyRuleset {
  const elements = Object.fromEntries(GLOBAL_SETS.map((s) => [s, []])) as unknown as FamilyRuleset['elements'];
  const podSource = podSourceMatch(model, config, family, elements);
  const table: FamilyRuleset = {
    family: family === 4 ? 'ip' : 'ip6',
    mark: '0x' + (1 << config.masqueradeBit >>> 0).toString(16).padStart(8, '0'),
    podSource,
    elements,
    endpointMaps: [],
    affinitySets: [],
    counters: [],
    chains: [],
  };
  for (const np of nodePortAddresses(model, config, family)) elements['nodeport-ips'].push({ key: [intervalElement(np)] });
  const serviceCIDRs = model.serviceCIDRs.filter((c) => c.includes(':') === (family === 6));
  for (const c of withoutCovered(serviceCIDRs)) elements['service-cidrs'].push({ key: [intervalElement(c)] });
  const nodeIPs = model.node.internalIPs.filter((ip) => ip.includes(':') === (family === 6));

  const endpointChains: FamilyRuleset['chains'] = [];
  const serviceChains: FamilyRuleset['chains'] = [];
  const externalChains: FamilyRuleset['chains'] = [];
  const hairpin = new Set<string>();
  const clusterIPs = new Set<string>();
  for (const sp of model.servicePorts) {
    if (sp.family !== family) continue;
    const plan = withCounters(cachedPlan(sp, { nodeName: model.node.name, zone: model.node.zone, nodeIPs, masqueradeAll: config.masqueradeAll, podSourceKnown: podSource.kind !== 'none', loadBalancing: config.loadBalancing }), sp, config.counters);
    clusterIPs.add(sp.clusterIP);
    for (const a of plan.hairpin) hairpin.add(a);
    for (const [set, els] of Object.entries(plan.elements) as [GlobalSetName, FamilyRuleset['elements'][GlobalSetName]][]) {
      elements[set].push(...els);
    }
    table.endpointMaps.push(...plan.endpointMaps);
    table.affinitySets.push(...plan.affinitySets);
    if ('counters' in plan) table.counters!.push(...plan.counters);
    endpointChains.push(...plan.endpointChains);
    if (plan.serviceChain) serviceChains.push(plan.serviceChain);
    if (plan.shortCircuitChain) serviceChains.push(plan.shortCircuitChain);
    if (plan.externalChain) externalChains.push(plan.externalChain);
  }
  table.chains = [...endpointChains, ...serviceChains, ...externalChains];
  for (const ip of clusterIPs) elements['cluster-ips'].push({ key: [ip] });
  for (const ip of hairpin) elements.hairpin.push({ key: [ip, ip] });
  return table;
}

// Service ports are reused by the model while their objects are unchanged, and so are their plans.
const planCache = new WeakMap<ServicePort, { ctx: string; plan: ServicePortPlan }>();

function cachedPlan(sp: ServicePort, ctx: PlanContext): ServicePortPlan {
  // Everything of the context a plan reads: a new zone label re-plans every port (its hints may now apply).
  const lb = ctx.loadBalancing!;
  const key = `${ctx.nodeName} ${ctx.zone ?? ''} ${ctx.nodeIPs.join(',')} ${ctx.masqueradeAll} ${ctx.podSourceKnown} ${lb.algorithm} ${lb.tableSize} ${lb.hash} ${lb.clusterTraffic}`;
  const hit = planCache.get(sp);
  if (hit && hit.ctx === key) return hit.plan;
  const plan = planServicePort(sp, ctx);
  planCache.set(sp, { ctx: key, plan });
  return plan;
}

/** The addresses whose node ports sluice serves: this node's InternalIPs for 'primary', or CIDRs. */
function nodePortAddresses(model: ProxyModel, config: ProxyConfig, family: Family): string[] {
  const out = new Set<string>();
  for (const a of config.nodePortAddresses) {
    if (a === 'localhost') continue; // the kernel never DNATs loopback: lib/serve/localhost-nodeports.ts serves it
    if (a === 'primary') {
      for (const ip of model.node.internalIPs) if (ip.includes(':') === (family === 6)) out.add(ip);
    } else if (a.family === family) {
      out.add(a.cidr);
    }
  }
  return withoutCovered([...out]);
}

function podSourceMatch(model: ProxyModel, config: ProxyConfig, family: Family, elements: FamilyRuleset['elements']): PodSourceMatch {
  switch (config.detectLocalMode) {
    case 'BridgeInterface': return { kind: 'bridge', iface: config.bridgeInterface! };
    case 'InterfaceNamePrefix': return { kind: 'prefix', prefix: config.interfaceNamePrefix! };
    case 'ClusterCIDR':
    case 'NodeCIDR': {
      const cidrs = config.detectLocalMode === 'ClusterCIDR'
        ? config.clusterCIDRs.filter((c) => c.family === family).map((c) => c.cidr)
        : model.node.podCIDRs.filter((c) => c.includes(':') === (family === 6));
      if (cidrs.length === 0) return { kind: 'none' };
      if (cidrs.length === 1) return { kind: 'cidr', cidr: cidrs[0] };
      for (const c of cidrs) elements['pod-ranges'].push({ key: [intervalElement(c)] });
      return { kind: 'set' };
    }
  }
}
