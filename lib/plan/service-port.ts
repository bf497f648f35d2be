// The rules one service port needs in its family's table.
//
//   cluster IP        -> svc chain: masquerade unless from a pod, then one endpoint by the internal policy
//   node port, LB IP,
//   external IP       -> ext chain: policy Cluster: masquerade, any endpoint;
//                                   policy Local: pods and the node itself short-circuit to any endpoint
//                                   (subject to neither policy, the node's traffic masqueraded), everyone
//                                   else to a local endpoint with their own source address, or is dropped
//   no usable endpoint -> no chains; the addresses go to the no-endpoint maps, which reject
import { categorizeEndpoints } from '../model/categorize.ts';
import { cidrContains, parseCIDR, parseIP } from '../model/ip.ts';
import { describeTopology } from '../model/topology.ts';
import type { Endpoint, ServicePort } from '../model/types.ts';
import type { AffinitySet, Chain, Element, EndpointMap, GlobalSetName, PodMatch, Rule, TableFamily } from '../nft/ir.ts';
import { DEFAULT_LOAD_BALANCING, type LoadBalancing } from '../config/load-balancing.ts';
import { intervalElement, withoutCovered } from './elements.ts';
import { maglevPick } from './maglev-map.ts';
import { endpointName, servicePortName } from './names.ts';

export interface ServicePortPlan {
  elements: Partial<Record<GlobalSetName, Element[]>>;
  endpointMaps: EndpointMap[];
  affinitySets: AffinitySet[];
  endpointChains: Chain[];
  serviceChain?: Chain;
  /** Any endpoint, no policy: where pods and the node go when they reach an external address of a Local service. */
  shortCircuitChain?: Chain;
  externalChain?: Chain;
  /** Addresses of this node's endpoints, which may reach themselves through the service (hairpin). */
  hairpin: string[];
}

export interface PlanContext {
  nodeName: string;
  /** This node's zone label, for topology hints. */
  zone?: string;
  /** This node's addresses of the table's family: a source range that holds one lets the load balancer's own IPs in. */
  nodeIPs: string[];
  masqueradeAll: boolean;
  /** The masquerade mark as a hex literal, e.g. 0x00004000. */
  mark: string;
  /** How pod traffic is told apart (detectLocalMode); absent when it cannot be. */
  pods?: PodMatch;
  /** How chains pick an endpoint: random, or Maglev for the services that ask (maglev-map.ts); absent: random. */
  loadBalancing?: LoadBalancing;
}

export const REJECT = 'reject-chain';

/**
 * Up to this many endpoints, a service chain picks one with a cascade of DNAT rules; beyond it, with a
 * named map. Rules are cheap to load and a small map is not: 10,000 services of 10 endpoints load in
 * 2.8 s as cascades and 7.6 s as maps (docs/rule-shape.md); a new connection walks at most this many rules.
 */
export const CASCADE_MAX = 16;

export function planServicePort(sp: ServicePort, ctx: PlanContext): ServicePortPlan {
  const plan: ServicePortPlan = { elements: {}, endpointMaps: [], affinitySets: [], endpointChains: [], hairpin: [] };
  const family: TableFamily = sp.family === 4 ? 'ip' : 'ip6';
  const add = (set: GlobalSetName, el: Element) => (plan.elements[set] ??= []).push(el);
  const { cluster, local, reachable, hasAny, topology } = categorizeEndpoints(sp, ctx.nodeName, ctx.zone);
  // Chains that pick among cluster endpoints say which hints chose them (sluice render, full syncs).
  const topologyComment = describeTopology(topology, { name: ctx.nodeName, zone: ctx.zone }, cluster.length, sp.endpoints.filter((e) => e.ready).length);
  const clusterChain = (c: Chain): Chain => (topologyComment ? { ...c, comment: topologyComment } : c);
  const fronts = [...new Set([...sp.externalIPs, ...sp.loadBalancerIPs])];

  if (sp.sourceRanges.length > 0) {
    const ranges = withoutCovered(sp.sourceRanges);
    // A load-balancer IP bound on the node loops back with itself as the source (kube-proxy's allowFromNode).
    const allowFromNode = ranges.some((r) => ctx.nodeIPs.some((ip) => cidrContains(parseCIDR(r)!, parseIP(ip)!)));
    for (const lb of sp.loadBalancerIPs) {
      add('firewall-ips', { key: [lb, sp.protocol, sp.port] });
      for (const range of ranges) add('firewall-allow', { key: [lb, sp.protocol, sp.port, intervalElement(range)] });
      if (allowFromNode && !ranges.some((r) => cidrContains(parseCIDR(r)!, parseIP(lb)!))) add('firewall-allow', { key: [lb, sp.protocol, sp.port, lb] });
    }
  }

  if (!hasAny) {
    for (const ip of [sp.clusterIP, ...fronts]) add('no-endpoint-services', { key: [ip, sp.protocol, sp.port], goto: REJECT });
    if (sp.nodePort !== undefined) add('no-endpoint-nodeports', { key: [sp.protocol, sp.nodePort], goto: REJECT });
    return plan;
  }
  // Every endpoint of this node that some traffic can reach may reach itself through the service.
  plan.hairpin = [...new Set(reachable.filter((e) => e.nodeName === ctx.nodeName).map((e) => e.address))];

  const endpointChains = new Map<string, Chain>();
  // Maglev for external traffic, and for cluster traffic where configured; ClientIP affinity wins over it.
  const lb = ctx.loadBalancing ?? DEFAULT_LOAD_BALANCING;
  const maglev = (sp.lbAlgorithm ?? lb.algorithm) === 'maglev';
  const pick = (endpoints: Endpoint[], mapKind: 'eps' | 'epl', external = false): Rule[] => {
    if (endpoints.length === 0) return [{ op: 'drop', why: 'no-local-endpoints' }];
    if (sp.affinityTimeout !== undefined) {
      const chains = endpoints.map((e) => {
        const name = endpointName('ep', sp, e);
        if (!endpointChains.has(name)) {
          const set = endpointName('aff', sp, e);
          plan.affinitySets.push({ family, name: set, timeout: sp.affinityTimeout! });
          endpointChains.set(name, { name, rules: [{ op: 'affinity-update', family, set }, { op: 'dnat', family, proto: sp.protocol, address: e.address, port: e.port }] });
        }
        return name;
      });
      return [
        ...endpoints.map((e, i): Rule => ({ op: 'affinity-goto', family, set: endpointName('aff', sp, e), chain: chains[i] })),
        { op: 'pick-chain', chains },
      ];
    }
    const hashed = maglev && (external || lb.clusterTraffic)
      ? maglevPick(sp, endpoints, servicePortName(mapKind === 'eps' ? 'mgc' : 'mgl', sp), lb) : undefined;
    if (hashed) {
      plan.endpointMaps.push(hashed.map);
      return [hashed.rule];
    }
    if (endpoints.length <= CASCADE_MAX) {
      // Each rule draws its own random number: the first takes 1 in n, the next 1 in n-1 of the rest, ...
      return endpoints.map((e, i): Rule => i === endpoints.length - 1
        ? { op: 'dnat', family, proto: sp.protocol, address: e.address, port: e.port }
        : { op: 'dnat-chance', family, proto: sp.protocol, address: e.address, port: e.port, outOf: endpoints.length - i });
    }
    const map = servicePortName(mapKind, sp);
    plan.endpointMaps.push({ family, name: map, proto: sp.protocol, elements: endpoints.map((e, i) => ({ key: [i], value: [e.address, e.port] })) });
    return [{ op: 'dnat-random', family, proto: sp.protocol, map, count: endpoints.length }];
  };

  const svc = servicePortName('svc', sp);
  const masquerade: Rule[] = ctx.masqueradeAll ? [{ op: 'mark-masquerade', mark: ctx.mark }]
    : ctx.pods ? [{ op: 'mark-masquerade', mark: ctx.mark, unlessFrom: ctx.pods }] : [];
  plan.serviceChain = sp.internalPolicyLocal
    ? { name: svc, rules: [...masquerade, ...pick(local, 'epl')] }
    : clusterChain({ name: svc, rules: [...masquerade, ...pick(cluster, 'eps')] });
  add('service-ips', { key: [sp.clusterIP, sp.protocol, sp.port], goto: svc });

  if (fronts.length > 0 || sp.nodePort !== undefined) {
    const ext = servicePortName('ext', sp);
    let rules: Rule[];
    if (sp.externalPolicyLocal) {
      // The svc chain serves as the short-circuit when it picks any endpoint and marks nothing a pod
      // sends; with internal policy Local or masqueradeAll, a chain of its own does.
      let shortCircuit = svc;
      if (sp.internalPolicyLocal || ctx.masqueradeAll) {
        shortCircuit = servicePortName('all', sp);
        plan.shortCircuitChain = clusterChain({ name: shortCircuit, rules: pick(cluster, 'eps') });
      }
      rules = [
        ...(ctx.pods ? [{ op: 'goto-if-from-pods', pods: ctx.pods, chain: shortCircuit } as Rule] : []),
        { op: 'goto-if-from-node', mark: ctx.mark, chain: shortCircuit },
        ...pick(local, 'epl', true),
      ];
    } else {
      rules = [{ op: 'mark-masquerade', mark: ctx.mark }, ...pick(cluster, 'eps', true)];
    }
    plan.externalChain = sp.externalPolicyLocal ? { name: ext, rules } : clusterChain({ name: ext, rules });
    for (const ip of fronts) add('service-ips', { key: [ip, sp.protocol, sp.port], goto: ext });
    if (sp.nodePort !== undefined) add('service-nodeports', { key: [sp.protocol, sp.nodePort], goto: ext });
  }
  plan.endpointChains = [...endpointChains.values()];
  // A map is declared once even when several chains pick from it.
  plan.endpointMaps = [...new Map(plan.endpointMaps.map((m) => [m.name, m])).values()];
  return plan;
}
