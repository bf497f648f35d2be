// From the model and the configuration to the ruleset: what each service port needs, per IP family.
// Pure and deterministic: the same model gives the same ruleset, element for element.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import type { Family, ProxyModel, ServicePort } from '../model/types.ts';
import { GLOBAL_SETS, TABLE_OWNED_SETS, type Element, type FamilyRuleset, type GlobalSetName, type PodSourceMatch, type Ruleset, type TableFamily, type TableOwnedSet, type TablePart } from '../nft/ir.ts';
import { intervalElement, withoutCovered } from './elements.ts';
import { planServicePort, type PlanContext, type ServicePortPlan } from './service-port.ts';
import { withCounters, type CountedPlan } from './counters.ts';

export function planRuleset(model: ProxyModel, config: ProxyConfig): Ruleset {
  return { node: model.node.name, tables: ([4, 6] as const).map((f) => planFamily(model, config, f)) };
}

function planFamily(model: ProxyModel, config: ProxyConfig, family: Family): FamilyRuleset {
  const own = Object.fromEntries(TABLE_OWNED_SETS.map((s) => [s, []])) as unknown as Record<TableOwnedSet, Element[]>;
  const podSource = podSourceMatch(model, config, family === 4 ? 'ip' : 'ip6', own);
  for (const np of nodePortAddresses(model, config, family)) own['nodeport-ips'].push({ key: [intervalElement(np)] });
  const serviceCIDRs = model.serviceCIDRs.filter((c) => c.includes(':') === (family === 6));
  for (const c of withoutCovered(serviceCIDRs)) own['service-cidrs'].push({ key: [intervalElement(c)] });
  const nodeIPs = model.node.internalIPs.filter((ip) => ip.includes(':') === (family === 6));
  const mark = '0x' + (1 << config.masqueradeBit >>> 0).toString(16).padStart(8, '0');
  const ctx: PlanContext = {
    nodeName: model.node.name, zone: model.node.zone, nodeIPs, masqueradeAll: config.masqueradeAll, mark,
    pods: podSource.kind === 'none' ? undefined : podSource, loadBalancing: config.loadBalancing,
  };
  const ctxKey = contextKey(ctx);

  const parts = new Map<string, TablePart>();
  const hairpin = new Set<string>();
  const clusterIPs = new Set<string>();
  for (const sp of model.servicePorts) {
    if (sp.family !== family) continue;
    const plan = withCounters(cachedPlan(sp, ctx, ctxKey), sp, config.counters);
    clusterIPs.add(sp.clusterIP);
    for (const a of plan.hairpin) hairpin.add(a);
    parts.set(partKey(sp), partOf(plan));
  }
  for (const ip of clusterIPs) own['cluster-ips'].push(keptElement(clusterIPElements, ip, () => ({ key: [ip] })));
  for (const ip of hairpin) own.hairpin.push(keptElement(hairpinElements, ip, () => ({ key: [ip, ip] })));

  // The whole table's lists are made when something reads them (a full sync, a render, a trace): a
  // partial sync compares parts and never needs them.
  const table = {
    family: family === 4 ? 'ip' : 'ip6',
    mark,
    podSource,
    parts,
    ownElements: own,
  } as unknown as FamilyRuleset;
  const all = () => [...parts.values()];
  lazy(table, 'elements', () => {
    const elements = Object.fromEntries(GLOBAL_SETS.map((s) => [s, []])) as unknown as FamilyRuleset['elements'];
    for (const p of all()) for (const [set, els] of Object.entries(p.elements) as [GlobalSetName, Element[]][]) elements[set].push(...els);
    for (const s of TABLE_OWNED_SETS) elements[s].push(...own[s]);
    return elements;
  });
  lazy(table, 'endpointMaps', () => all().flatMap((p) => p.endpointMaps));
  lazy(table, 'affinitySets', () => all().flatMap((p) => p.affinitySets));
  lazy(table, 'counters', () => all().flatMap((p) => p.counters));
  lazy(table, 'chains', () => [...all().flatMap((p) => p.endpointChains), ...all().flatMap((p) => p.serviceChains), ...all().flatMap((p) => p.externalChains)]);
  return table;
}

/** A property made by `make` on first read and kept: own and enumerable, so spreading the object copies it. */
function lazy<T extends object, K extends keyof T>(obj: T, key: K, make: () => T[K]) {
  Object.defineProperty(obj, key, {
    enumerable: true, configurable: true,
    get() {
      const value = make();
      Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      return value;
    },
  });
}

const partKeys = new WeakMap<ServicePort, string>();
/** Names a service port within its family's table (its chains' names are made of the same parts). */
function partKey(sp: ServicePort): string {
  let k = partKeys.get(sp);
  if (k === undefined) partKeys.set(sp, (k = `${sp.namespace}/${sp.name}/${sp.protocol}/${sp.portName || sp.port}`));
  return k;
}

const partCache = new WeakMap<ServicePortPlan, TablePart>();
function partOf(plan: ServicePortPlan | CountedPlan): TablePart {
  let part = partCache.get(plan);
  if (part) return part;
  part = {
    elements: plan.elements,
    endpointMaps: plan.endpointMaps,
    affinitySets: plan.affinitySets,
    counters: 'counters' in plan ? plan.counters : [],
    endpointChains: plan.endpointChains,
    serviceChains: [plan.serviceChain, plan.shortCircuitChain].filter((c) => c !== undefined),
    externalChains: plan.externalChain ? [plan.externalChain] : [],
  };
  partCache.set(plan, part);
  return part;
}

// The same address gets the same element object from sync to sync, so the diff finds it unchanged by identity.
const clusterIPElements = new Map<string, Element>();
const hairpinElements = new Map<string, Element>();
function keptElement(kept: Map<string, Element>, ip: string, make: () => Element): Element {
  let el = kept.get(ip);
  if (!el) {
    if (kept.size > 500_000) kept.clear(); // addresses come and go: bound what is kept
    kept.set(ip, (el = make()));
  }
  return el;
}

// Service ports are reused by the model while their objects are unchanged, and so are their plans.
const planCache = new WeakMap<ServicePort, { ctx: string; plan: ServicePortPlan }>();

/** Everything of the context a plan reads: a new zone label re-plans every port (its hints may now apply), and so does a new pod match (its rules print it). */
function contextKey(ctx: PlanContext): string {
  const lb = ctx.loadBalancing!;
  return `${ctx.nodeName} ${ctx.zone ?? ''} ${ctx.nodeIPs.join(',')} ${ctx.masqueradeAll} ${ctx.mark} ${JSON.stringify(ctx.pods ?? null)} ${lb.algorithm} ${lb.tableSize} ${lb.hash} ${lb.clusterTraffic}`;
}

function cachedPlan(sp: ServicePort, ctx: PlanContext, key: string): ServicePortPlan {
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

function podSourceMatch(model: ProxyModel, config: ProxyConfig, F: TableFamily, elements: Record<TableOwnedSet, Element[]>): PodSourceMatch {
  const family: Family = F === 'ip' ? 4 : 6;
  switch (config.detectLocalMode) {
    case 'BridgeInterface': return { kind: 'bridge', iface: config.bridgeInterface! };
    case 'InterfaceNamePrefix': return { kind: 'prefix', prefix: config.interfaceNamePrefix! };
    case 'ClusterCIDR':
    case 'NodeCIDR': {
      const cidrs = config.detectLocalMode === 'ClusterCIDR'
        ? config.clusterCIDRs.filter((c) => c.family === family).map((c) => c.cidr)
        : model.node.podCIDRs.filter((c) => c.includes(':') === (family === 6));
      if (cidrs.length === 0) return { kind: 'none' };
      if (cidrs.length === 1) return { kind: 'cidr', family: F, cidr: cidrs[0] };
      for (const c of cidrs) elements['pod-ranges'].push({ key: [intervalElement(c)] });
      return { kind: 'set', family: F };
    }
  }
}
