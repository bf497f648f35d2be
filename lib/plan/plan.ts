// From the model and the configuration to the ruleset: what each service port needs, per IP family.
// Pure and deterministic: the same model gives the same ruleset, element for element.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import type { Family, ProxyModel, ServicePort } from '../model/types.ts';
import { GLOBAL_SETS, TABLE_OWNED_SETS, type Element, type FamilyRuleset, type GlobalSetName, type PodSourceMatch, type Ruleset, type TableFamily, type TableOwnedSet, type TablePart } from '../nft/ir.ts';
import { intervalElement, withoutCovered } from './elements.ts';
import { planServicePort, type PlanContext, type ServicePortPlan } from './service-port.ts';
import { withCounters, type CountedPlan } from './counters.ts';

export function planRuleset(model: ProxyModel, config: ProxyConfig): Ruleset {
  return { node: model.node.name, tables: ([4, 6] as const).map((f) => planFamily(model, config, f).table) };
}

/** A family's table and what planning it again for a few changed service ports (live-plan.ts) starts from. */
export interface PlannedFamily {
  table: FamilyRuleset;
  family: Family;
  ctx: PlanContext;
  ctxKey: string;
  /** How many parts hold each cluster IP and each hairpin address. */
  shared: SharedAddresses;
  /** The table-owned sets that follow from the node and the configuration alone. */
  fixed: Pick<Record<TableOwnedSet, Element[]>, 'nodeport-ips' | 'service-cidrs' | 'pod-ranges'>;
}

export function planFamily(model: ProxyModel, config: ProxyConfig, family: Family): PlannedFamily {
  const own = Object.fromEntries(TABLE_OWNED_SETS.map((s) => [s, []])) as unknown as Record<TableOwnedSet, Element[]>;
  const podSource = podSourceMatch(model, config, family === 4 ? 'ip' : 'ip6', own);
  for (const np of nodePortAddresses(model, config, family)) own['nodeport-ips'].push({ key: [intervalElement(np)] });
  const serviceCIDRs = model.serviceCIDRs.filter((c) => c.includes(':') === (family === 6));
  for (const c of withoutCovered(serviceCIDRs)) own['service-cidrs'].push({ key: [intervalElement(c)] });
  const nodeIPs = model.node.internalIPs.filter((ip) => ip.includes(':') === (family === 6));
  const mark = markOf(config);
  const ctx: PlanContext = {
    nodeName: model.node.name, zone: model.node.zone, nodeIPs, masqueradeAll: config.masqueradeAll, mark,
    pods: podSource.kind === 'none' ? undefined : podSource, loadBalancing: config.loadBalancing,
  };
  const ctxKey = contextKey(ctx);

  const parts = new Map<string, TablePart>();
  const shared = new SharedAddresses();
  for (const sp of model.servicePorts) {
    if (sp.family !== family) continue;
    const part = planPart(sp, ctx, ctxKey, config);
    shared.add(contributionOf(part));
    parts.set(partKey(sp), part);
  }
  own['cluster-ips'] = shared.clusterIPElements();
  own.hairpin = shared.hairpinElements();
  const table = { family: family === 4 ? 'ip' : 'ip6', mark, podSource, parts, ownElements: own } as unknown as FamilyRuleset;
  defineAggregates(table, () => [...parts.values()]);
  const { 'nodeport-ips': np, 'service-cidrs': sc, 'pod-ranges': pr } = own;
  return { table, family, ctx, ctxKey, shared, fixed: { 'nodeport-ips': np, 'service-cidrs': sc, 'pod-ranges': pr } };
}

export function markOf(config: ProxyConfig): string {
  return '0x' + (1 << config.masqueradeBit >>> 0).toString(16).padStart(8, '0');
}

/** What one service port puts in its family's table (cached while the port and the context are the same). */
export function planPart(sp: ServicePort, ctx: PlanContext, ctxKey: string, config: ProxyConfig): TablePart {
  const plan = withCounters(cachedPlan(sp, ctx, ctxKey), sp, config.counters);
  const part = partOf(plan);
  if (!contributions.has(part)) contributions.set(part, { clusterIP: sp.clusterIP, hairpin: plan.hairpin });
  return part;
}

/** What a part adds to the table-owned sets cluster-ips and hairpin, which several parts may share an address of. */
export interface Contribution { clusterIP: string; hairpin: readonly string[] }
const contributions = new WeakMap<TablePart, Contribution>();
export function contributionOf(part: TablePart): Contribution {
  return contributions.get(part)!;
}

/** The cluster IPs and hairpin addresses of a table's parts, each counted as often as parts hold it. */
export class SharedAddresses {
  private readonly clusterIPs = new Map<string, number>();
  private readonly hairpin = new Map<string, number>();

  add(c: Contribution): void {
    bump(this.clusterIPs, c.clusterIP, 1);
    for (const a of c.hairpin) bump(this.hairpin, a, 1);
  }

  remove(c: Contribution): void {
    bump(this.clusterIPs, c.clusterIP, -1);
    for (const a of c.hairpin) bump(this.hairpin, a, -1);
  }

  has(set: 'cluster-ips' | 'hairpin', address: string): boolean {
    return (set === 'cluster-ips' ? this.clusterIPs : this.hairpin).has(address);
  }

  clusterIPElements(): Element[] {
    return [...this.clusterIPs.keys()].map(clusterIPElement);
  }

  hairpinElements(): Element[] {
    return [...this.hairpin.keys()].map(hairpinElement);
  }
}

function bump(counts: Map<string, number>, k: string, by: number) {
  const n = (counts.get(k) ?? 0) + by;
  if (n > 0) counts.set(k, n); else counts.delete(k);
}

export const clusterIPElement = (ip: string): Element => keptElement(clusterIPElements, ip, () => ({ key: [ip] }));
export const hairpinElement = (ip: string): Element => keptElement(hairpinElements, ip, () => ({ key: [ip, ip] }));

/**
 * The whole table's lists, made when something reads them (a full sync, a render, a trace) from the
 * table's parts (`all`, in the model's order of service ports) and own elements: a partial sync
 * compares parts and never needs them.
 */
export function defineAggregates(table: FamilyRuleset, all: () => TablePart[]): void {
  lazy(table, 'elements', () => {
    const elements = Object.fromEntries(GLOBAL_SETS.map((s) => [s, []])) as unknown as FamilyRuleset['elements'];
    for (const p of all()) for (const [set, els] of Object.entries(p.elements) as [GlobalSetName, Element[]][]) elements[set].push(...els);
    for (const s of TABLE_OWNED_SETS) elements[s].push(...table.ownElements![s]);
    return elements;
  });
  lazy(table, 'endpointMaps', () => all().flatMap((p) => p.endpointMaps));
  lazy(table, 'affinitySets', () => all().flatMap((p) => p.affinitySets));
  lazy(table, 'counters', () => all().flatMap((p) => p.counters));
  lazy(table, 'chains', () => [...all().flatMap((p) => p.endpointChains), ...all().flatMap((p) => p.serviceChains), ...all().flatMap((p) => p.externalChains)]);
}

/** A property made by `make` on first read and kept: own and enumerable, so spreading the object copies it. */
export function lazy<T extends object, K extends keyof T>(obj: T, key: K, make: () => T[K]) {
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
export function partKey(sp: ServicePort): string {
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
