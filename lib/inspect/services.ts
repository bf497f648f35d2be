// What `sluice services` and GET /services show: every service port's fronts, its endpoints and
// which traffic uses each (lib/model/categorize.ts decides; nothing is recomputed here), its
// policies and affinity, and the objects skipped and why.
import { categorizeEndpoints, isExternallyAccessible } from '../model/categorize.ts';
import type { Endpoint, Problem, ProxyModel, ServicePort } from '../model/types.ts';

export type Front =
  | { kind: 'cluster-ip'; address: string; port: number }
  | { kind: 'node-port'; port: number }
  | { kind: 'load-balancer'; address: string; port: number }
  | { kind: 'external-ip'; address: string; port: number };

/** An endpoint as the model has it (its hints left out), and what this node does with it. */
export interface EndpointView extends Pick<Endpoint, 'address' | 'port' | 'nodeName' | 'ready' | 'serving' | 'terminating'> {
  local: boolean;
  /** Receives traffic to the cluster IP (internal traffic policy). */
  forCluster: boolean;
  /** Receives traffic to node ports, load-balancer and external IPs (external traffic policy). */
  forExternal: boolean;
}

export interface ServicePortView {
  namespace: string;
  name: string;
  portName: string;
  protocol: string;
  family: 4 | 6;
  fronts: Front[];
  internalTrafficPolicy: 'Cluster' | 'Local';
  externalTrafficPolicy?: 'Cluster' | 'Local';
  affinityTimeoutSeconds?: number;
  sourceRanges: string[];
  healthCheckNodePort?: number;
  endpoints: EndpointView[];
  /** What a new connection meets when no endpoint is usable. */
  note?: string;
}

export interface ServicesView {
  node: { name: string; known: boolean; internalIPs: string[]; podCIDRs: string[] };
  servicePorts: ServicePortView[];
  skipped: Problem[];
}

export interface ServiceFilter { namespace: string; name?: string }

function fronts(sp: ServicePort): Front[] {
  return [
    { kind: 'cluster-ip', address: sp.clusterIP, port: sp.port },
    ...(sp.nodePort !== undefined ? [{ kind: 'node-port' as const, port: sp.nodePort }] : []),
    ...sp.loadBalancerIPs.map((address) => ({ kind: 'load-balancer' as const, address, port: sp.port })),
    ...sp.externalIPs.map((address) => ({ kind: 'external-ip' as const, address, port: sp.port })),
  ];
}

function portView(sp: ServicePort, model: ProxyModel): ServicePortView {
  const c = categorizeEndpoints(sp, model.node.name, model.node.zone);
  const external = isExternallyAccessible(sp);
  const forCluster = new Set(sp.internalPolicyLocal ? c.local : c.cluster);
  const forExternal = new Set(external ? (sp.externalPolicyLocal ? c.local : c.cluster) : []);
  let note: string | undefined;
  if (!c.hasAny) note = 'no usable endpoint anywhere: new connections are rejected';
  else if (forCluster.size === 0) note = 'internalTrafficPolicy Local and no usable endpoint on this node: traffic to the cluster IP is dropped';
  else if (external && forExternal.size === 0) note = 'externalTrafficPolicy Local and no usable endpoint on this node: outside traffic is dropped (pods and the node still reach every endpoint)';
  return {
    namespace: sp.namespace, name: sp.name, portName: sp.portName, protocol: sp.protocol, family: sp.family,
    fronts: fronts(sp),
    internalTrafficPolicy: sp.internalPolicyLocal ? 'Local' : 'Cluster',
    ...(external ? { externalTrafficPolicy: sp.externalPolicyLocal ? 'Local' as const : 'Cluster' as const } : {}),
    ...(sp.affinityTimeout !== undefined ? { affinityTimeoutSeconds: sp.affinityTimeout } : {}),
    sourceRanges: sp.sourceRanges,
    ...(sp.healthCheckNodePort !== undefined ? { healthCheckNodePort: sp.healthCheckNodePort } : {}),
    endpoints: sp.endpoints.map((e) => ({
      address: e.address, port: e.port, ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}),
      ready: e.ready, serving: e.serving, terminating: e.terminating, local: e.nodeName === model.node.name,
      forCluster: forCluster.has(e), forExternal: forExternal.has(e),
    })),
    ...(note ? { note } : {}),
  };
}

/** Problems name their object as `Kind namespace/name`. */
function problemMatches(p: Problem, f: ServiceFilter): boolean {
  const name = p.object.split(' ').at(-1) ?? '';
  const [ns, n] = name.split('/');
  return ns === f.namespace && (f.name === undefined || n === f.name || n?.startsWith(`${f.name}-`) === true);
}

export function servicesView(model: ProxyModel, filter?: ServiceFilter): ServicesView {
  const ports = model.servicePorts.filter((sp) => !filter || (sp.namespace === filter.namespace && (filter.name === undefined || sp.name === filter.name)));
  return {
    node: { name: model.node.name, known: model.node.known, internalIPs: model.node.internalIPs, podCIDRs: model.node.podCIDRs },
    servicePorts: ports.map((sp) => portView(sp, model)),
    skipped: filter ? model.problems.filter((p) => problemMatches(p, filter)) : model.problems,
  };
}
