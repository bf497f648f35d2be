// Which endpoints of a service port receive traffic on this node: kube-proxy's categorization
// (pkg/proxy/topology.go), the one place sluice decides it. Rules, health-check node ports,
// conntrack clean-up and metrics all read this.
//
// - Cluster endpoints (internal policy Cluster, external policy Cluster, and the short-circuit of
//   pods and the node to an external address): the ready ones the topology hints leave for this
//   node (topology.ts); when none is ready anywhere, the ones still serving while terminating,
//   hints ignored.
// - Local endpoints (either policy Local): this node's ready ones; when none of this node's is
//   ready, this node's serving-terminating ones, whatever other nodes have. Hints never apply:
//   the endpoints are this node's already.
import { availableForTopology, chooseTopology, NO_TOPOLOGY, type TopologyChoice } from './topology.ts';
import type { Endpoint, ServicePort } from './types.ts';

export interface EndpointCategories {
  /** Endpoints for traffic subject to policy Cluster; empty when the port never uses them. */
  cluster: Endpoint[];
  /** This node's endpoints for traffic subject to policy Local; empty when the port never uses them. */
  local: Endpoint[];
  /** Every endpoint some traffic through this node can reach: cluster and local together. */
  reachable: Endpoint[];
  /** Whether the service has a usable endpoint anywhere in the cluster (even if none is reachable here). */
  hasAny: boolean;
  /** This node's ready endpoints: what a health-check node port reports. */
  localReady: Endpoint[];
  /** The hints that picked the cluster endpoints, and why hints went unused; mode 'none' when the port uses no cluster endpoints. */
  topology: TopologyChoice;
}

/** A service port takes external traffic when it has a node port, a load-balancer or an external IP. */
export function isExternallyAccessible(sp: ServicePort): boolean {
  return sp.nodePort !== undefined || sp.loadBalancerIPs.length > 0 || sp.externalIPs.length > 0;
}

/** Cluster endpoints are used by policy Cluster, and by the short-circuit of an external policy Local. */
export function usesClusterEndpoints(sp: ServicePort): boolean {
  return !sp.internalPolicyLocal || isExternallyAccessible(sp);
}

export function usesLocalEndpoints(sp: ServicePort): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && isExternallyAccessible(sp));
}

const servingTerminating = (e: Endpoint) => e.serving && e.terminating;

/**
 * `zone` is this node's topology.kubernetes.io/zone label (NodeFacts.zone); without it zone hints
 * are not used, node hints still are.
 */
// Service ports are the same objects while their Service and slices are unchanged, and each sync asks
// for their categories several times (plan, metrics, health checks, conntrack): the answer is kept.
const categorized = new WeakMap<ServicePort, { nodeName: string; zone?: string; categories: EndpointCategories }>();

export function categorizeEndpoints(sp: ServicePort, nodeName: string, zone?: string): EndpointCategories {
  const hit = categorized.get(sp);
  if (hit && hit.nodeName === nodeName && hit.zone === zone) return hit.categories;
  const categories = categorize(sp, nodeName, zone);
  categorized.set(sp, { nodeName, zone, categories });
  return categories;
}

function categorize(sp: ServicePort, nodeName: string, zone?: string): EndpointCategories {
  const eps = sp.endpoints;
  const node = { name: nodeName, zone };
  const isLocal = (e: Endpoint) => e.nodeName === nodeName;
  const localReady = eps.filter((e) => e.ready && isLocal(e));
  let cluster: Endpoint[] = [];
  let topology = NO_TOPOLOGY;
  if (usesClusterEndpoints(sp)) {
    topology = chooseTopology(eps, node);
    cluster = eps.filter((e) => e.ready && availableForTopology(e, topology.mode, node));
    // A mode is only chosen when it leaves a ready endpoint: empty here means none is ready anywhere.
    if (cluster.length === 0) cluster = eps.filter(servingTerminating);
  }
  const hasAny = eps.some((e) => e.ready || servingTerminating(e));
  let local: Endpoint[] = [];
  if (usesLocalEndpoints(sp)) local = localReady.length > 0 ? localReady : eps.filter((e) => isLocal(e) && servingTerminating(e));
  // Local endpoints the hints left out of cluster (or terminating ones) are reachable too.
  let reachable = cluster;
  if (local.length > 0) {
    const inCluster = new Set(cluster);
    const extra = local.filter((e) => !inCluster.has(e));
    if (extra.length > 0) reachable = eps.filter((e) => inCluster.has(e) || extra.includes(e));
  }
  return { cluster, local, reachable, hasAny, localReady, topology };
}
