// What the proxy means, independent of nftables: service ports, their endpoints, this node.
import type { Family } from './ip.ts';
import type { Protocol } from './validate.ts';

export type { Family, Protocol };

export interface Endpoint {
  address: string;
  port: number;
  nodeName?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** hints.forZones[].name: the zones whose nodes should send it their traffic; absent when none (topology.ts). */
  zoneHints?: readonly string[];
  /** hints.forNodes[].name: the nodes that should send it their traffic; absent when none. */
  nodeHints?: readonly string[];
}

/** One port of one Service in one IP family: the unit sluice programs. */
export interface ServicePort {
  namespace: string;
  name: string;
  /** The port's name, '' for the single unnamed port of a service. */
  portName: string;
  protocol: Protocol;
  family: Family;
  clusterIP: string;
  port: number;
  nodePort?: number;
  externalIPs: string[];
  loadBalancerIPs: string[];
  /** loadBalancerSourceRanges of this family; empty means every source may reach the load-balancer IPs. */
  sourceRanges: string[];
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** ClientIP session affinity timeout in seconds, absent without affinity. */
  affinityTimeout?: number;
  healthCheckNodePort?: number;
  /** The Service's sluice.dev/lb-algorithm annotation; absent: the configuration's loadBalancing.algorithm. */
  lbAlgorithm?: 'maglev' | 'random';
  endpoints: Endpoint[];
}

export interface NodeFacts {
  name: string;
  /** Found among the objects: without it NodePorts on `primary` addresses and NodeCIDR detection have nothing to go on. */
  known: boolean;
  internalIPs: string[];
  podCIDRs: string[];
  /** The label topology.kubernetes.io/zone: which zone hints are for this node; absent when missing, empty or invalid. */
  zone?: string;
}

/** Why an object was skipped: `object` names it (Kind namespace/name), `reason` is a short code for metrics. */
export interface Problem {
  kind: string;
  object: string;
  reason: string;
  message: string;
  /** Only part of the object was left out, the rest of it is used: one endpoint (or address), or one field. */
  scope?: 'endpoint' | 'field';
}

export interface ProxyModel {
  node: NodeFacts;
  servicePorts: ServicePort[];
  /**
   * The ranges cluster IPs come from, both families, each once, IPv4 first then by address (canonical
   * CIDR text from parseCIDR): the ServiceCIDR objects' spec.cidrs, or where no valid ServiceCIDR
   * exists, the configuration's serviceCIDRs. kube-proxy drops new connections to addresses in them
   * that no Service owns.
   */
  serviceCIDRs: string[];
  problems: Problem[];
  /** How this model differs from the one it was updated from (lib/model/live-model.ts); absent when built from all objects. */
  change?: ModelChange;
}

/**
 * The service ports of the services whose objects changed: as they were in `base` and as they are
 * now. A port may be in both (its objects changed, its reading did not); every other port of the
 * model is the same object as in `base`.
 */
export interface ModelChange {
  /** Held weakly: a model never keeps its predecessors alive. */
  base: WeakRef<ProxyModel>;
  removed: ServicePort[];
  added: ServicePort[];
}
