// A small cluster as plain data (up to four services, this node "node1" and another, "node2"), the
// changes a transition test makes to it, and the Kubernetes objects it stands for.
import type { KubeObject } from '../../lib/objects/objects.ts';

export const NODE = 'node1';
export const SERVICES = ['alpha', 'bravo', 'charlie', 'delta'] as const;
export const NAMESPACE = 'tr';

export type Families = 'v4' | 'v6' | 'dual' | 'dual6';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';
export type Policy = 'Cluster' | 'Local';
export type PortName = 'http' | 'dns';
/** ready; not ready; terminating and still serving; terminating and not serving. */
export type Condition = 'ready' | 'unready' | 'term-serving' | 'term-gone';

export interface PortSpec { name: PortName; nodePort: boolean }

export interface ServiceSpec {
  families: Families;
  /** Which of two cluster IPs per family the service has (another one only by re-creation). */
  ipVariant: 0 | 1;
  type: ServiceType;
  ports: PortSpec[];
  /** ClientIP affinity timeout in seconds; null: sessionAffinity None; 'default': ClientIP without timeoutSeconds. */
  affinity: number | 'default' | null;
  itp: Policy;
  etp: Policy;
  /** Indexes of load-balancer ingress IPs: even ones IPv4, odd ones IPv6. */
  lb: number[];
  /** Indexes of external IPs: even ones IPv4, odd ones IPv6. */
  ext: number[];
  /** Indexes into SOURCE_RANGES. */
  ranges: number[];
}

export interface EndpointSpec { node: 0 | 1 | 2; cond: Condition }

export interface NodeSpec {
  /** Indexes into INTERNAL_IPS. */
  ips: number[];
  /** Indexes into POD_CIDRS. */
  cidrs: number[];
}

export interface ConfigSpec {
  masqueradeAll: boolean;
  detectLocalMode: 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';
  /** Index into CLUSTER_CIDRS (ClusterCIDR mode). */
  clusterCIDR: number;
  /** Index into NODE_PORT_ADDRESSES. */
  nodePortAddresses: number;
}

export interface ClusterState {
  services: (ServiceSpec | null)[];
  /** Per service, the endpoints of its IPv4 and IPv6 EndpointSlice; null: no slice. */
  slices: { v4: EndpointSpec[] | null; v6: EndpointSpec[] | null }[];
  node: NodeSpec | null;
}

export const INTERNAL_IPS = ['192.168.50.10', '192.168.50.11', 'fd00:50::10'];
export const POD_CIDRS = ['10.244.1.0/24', 'fd00:244:1::/64', '10.244.3.0/24'];
export const SOURCE_RANGES = ['203.0.113.0/24', '203.0.113.128/25', '198.18.0.0/15', '0.0.0.0/0', '2001:db8:f::/48', '2001:db8:f:1::/64'];
export const CLUSTER_CIDRS = ['', '10.244.0.0/16', '10.244.0.0/16,fd00:244::/48'];
export const NODE_PORT_ADDRESSES: (string[] | undefined)[] = [undefined, ['192.168.50.0/24'], ['192.168.50.10/32', 'fd00:50::/64']];

export const PORTS: Record<PortName, { port: number; protocol: string; target: number; nodePortBase: number }> = {
  http: { port: 80, protocol: 'TCP', target: 8080, nodePortBase: 30000 },
  dns: { port: 53, protocol: 'UDP', target: 5353, nodePortBase: 31000 },
};

export type Change =
  | { op: 'put'; svc: number; spec: ServiceSpec }
  | { op: 'delete'; svc: number }
  | { op: 'type'; svc: number; type: ServiceType }
  | { op: 'affinity'; svc: number; affinity: number | 'default' | null }
  /** A new timeout for a service that has ClientIP affinity (nothing for one that has not). */
  | { op: 'affinityTimeout'; svc: number; timeout: number }
  | { op: 'policies'; svc: number; itp: Policy; etp: Policy }
  | { op: 'ports'; svc: number; ports: PortSpec[] }
  | { op: 'fronts'; svc: number; lb: number[]; ext: number[] }
  | { op: 'ranges'; svc: number; ranges: number[] }
  | { op: 'families'; svc: number; families: Families }
  | { op: 'endpoints'; svc: number; family: 'v4' | 'v6'; endpoints: EndpointSpec[] | null }
  /** One endpoint of a slice changes its node or conditions (the n-th modulo the slice's length). */
  | { op: 'endpoint'; svc: number; family: 'v4' | 'v6'; index: number; endpoint: EndpointSpec }
  | { op: 'node'; node: NodeSpec | null };

/**
 * One step: changes applied together and synced once; or a new configuration (sluice restarted with
 * it: a new SyncLoop, whose first sync is full); or an hour passing (the periodic full sync).
 */
export type Step =
  | { changes: Change[] }
  | { config: ConfigSpec }
  | { hour: true };

export interface Sequence {
  config: ConfigSpec;
  initial: ClusterState;
  steps: Step[];
}

function withService(state: ClusterState, svc: number, fn: (s: ServiceSpec) => ServiceSpec): ClusterState {
  const current = state.services[svc];
  if (!current) return state;
  const services = [...state.services];
  services[svc] = fn(current);
  return { ...state, services };
}

/** The state after a change; the state is never changed in place. */
export function applyChange(state: ClusterState, c: Change): ClusterState {
  switch (c.op) {
    case 'put': {
      const services = [...state.services];
      services[c.svc] = c.spec;
      return { ...state, services };
    }
    case 'delete': {
      const services = [...state.services];
      services[c.svc] = null;
      return { ...state, services };
    }
    case 'type': return withService(state, c.svc, (s) => ({ ...s, type: c.type }));
    case 'affinity': return withService(state, c.svc, (s) => ({ ...s, affinity: c.affinity }));
    case 'affinityTimeout': return withService(state, c.svc, (s) => (s.affinity === null ? s : { ...s, affinity: c.timeout }));
    case 'policies': return withService(state, c.svc, (s) => ({ ...s, itp: c.itp, etp: c.etp }));
    case 'ports': return withService(state, c.svc, (s) => ({ ...s, ports: c.ports }));
    case 'fronts': return withService(state, c.svc, (s) => ({ ...s, lb: c.lb, ext: c.ext }));
    case 'ranges': return withService(state, c.svc, (s) => ({ ...s, ranges: c.ranges }));
    case 'families': return withService(state, c.svc, (s) => ({ ...s, families: c.families }));
    case 'endpoints': {
      const slices = [...state.slices];
      slices[c.svc] = { ...slices[c.svc], [c.family]: c.endpoints };
      return { ...state, slices };
    }
    case 'endpoint': {
      const list = state.slices[c.svc][c.family];
      if (!list || list.length === 0) return state;
      const i = c.index % list.length;
      const slices = [...state.slices];
      slices[c.svc] = { ...slices[c.svc], [c.family]: list.map((e, j) => (j === i ? c.endpoint : e)) };
      return { ...state, slices };
    }
    case 'node': return { ...state, node: c.node };
  }
}

const v4 = (svc: number, variant: number) => `10.96.${variant}.${10 + svc}`;
const v6 = (svc: number, variant: number) => `fd00:96::${variant}:${10 + svc}`;
const lbIP = (svc: number, k: number) => (k % 2 === 0 ? `192.0.2.${svc * 8 + k + 1}` : `2001:db8::${svc * 8 + k + 1}`);
const extIP = (svc: number, k: number) => (k % 2 === 0 ? `198.51.100.${svc * 8 + k + 1}` : `2001:db8:1::${svc * 8 + k + 1}`);
const endpointIP = (svc: number, family: 'v4' | 'v6', slot: number) => (family === 'v4' ? `10.244.${10 + svc}.${slot + 1}` : `fd00:244:${10 + svc}::${slot + 1}`);

function clusterIPs(svc: number, spec: ServiceSpec): string[] {
  const a = v4(svc, spec.ipVariant), b = v6(svc, spec.ipVariant);
  return { v4: [a], v6: [b], dual: [a, b], dual6: [b, a] }[spec.families];
}

export function serviceObject(svc: number, spec: ServiceSpec): KubeObject {
  const ips = clusterIPs(svc, spec);
  const exposes = spec.type !== 'ClusterIP';
  const ports = spec.ports.map((p) => ({
    name: p.name, port: PORTS[p.name].port, protocol: PORTS[p.name].protocol, targetPort: PORTS[p.name].target,
    ...(exposes && p.nodePort ? { nodePort: PORTS[p.name].nodePortBase + svc } : {}),
  }));
  const body: Record<string, unknown> = {
    type: spec.type, clusterIP: ips[0], clusterIPs: ips, ports,
    internalTrafficPolicy: spec.itp, externalTrafficPolicy: spec.etp,
  };
  if (spec.ext.length) body.externalIPs = spec.ext.map((k) => extIP(svc, k));
  if (spec.ranges.length) body.loadBalancerSourceRanges = spec.ranges.map((r) => SOURCE_RANGES[r]);
  if (spec.affinity !== null) {
    body.sessionAffinity = 'ClientIP';
    if (spec.affinity !== 'default') body.sessionAffinityConfig = { clientIP: { timeoutSeconds: spec.affinity } };
  }
  return {
    kind: 'Service',
    metadata: { name: SERVICES[svc], namespace: NAMESPACE, creationTimestamp: `2024-01-01T00:00:0${svc}Z` },
    spec: body,
    status: spec.lb.length ? { loadBalancer: { ingress: spec.lb.map((k) => ({ ip: lbIP(svc, k) })) } } : undefined,
  };
}

const CONDITIONS: Record<Condition, { ready: boolean; serving: boolean; terminating: boolean }> = {
  ready: { ready: true, serving: true, terminating: false },
  unready: { ready: false, serving: false, terminating: false },
  'term-serving': { ready: false, serving: true, terminating: true },
  'term-gone': { ready: false, serving: false, terminating: true },
};

export function sliceObject(svc: number, family: 'v4' | 'v6', endpoints: EndpointSpec[]): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: { name: `${SERVICES[svc]}-${family}`, namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': SERVICES[svc] } },
    addressType: family === 'v4' ? 'IPv4' : 'IPv6',
    ports: Object.entries(PORTS).map(([name, p]) => ({ name, port: p.target, protocol: p.protocol })),
    endpoints: endpoints.map((e, slot) => ({
      addresses: [endpointIP(svc, family, slot)],
      conditions: CONDITIONS[e.cond],
      ...(e.node === 0 ? {} : { nodeName: `node${e.node}` }),
    })),
  };
}

export function nodeObject(spec: NodeSpec): KubeObject {
  const cidrs = spec.cidrs.map((i) => POD_CIDRS[i]);
  return {
    kind: 'Node',
    metadata: { name: NODE },
    spec: cidrs.length ? { podCIDR: cidrs[0], podCIDRs: cidrs } : {},
    status: { addresses: [{ type: 'Hostname', address: NODE }, ...spec.ips.map((i) => ({ type: 'InternalIP', address: INTERNAL_IPS[i] }))] },
  };
}

/** The other node: its object never matters to node1's rules, but it is there, as in a cluster. */
export const OTHER_NODE: KubeObject = {
  kind: 'Node', metadata: { name: 'node2' }, spec: { podCIDR: '10.244.2.0/24' },
  status: { addresses: [{ type: 'InternalIP', address: '192.168.50.20' }] },
};

/** Every object of the state, by kind and key. */
export function objectsOf(state: ClusterState): Map<string, KubeObject> {
  const out = new Map<string, KubeObject>();
  const put = (o: KubeObject) => out.set(`${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`, o);
  state.services.forEach((s, i) => { if (s) put(serviceObject(i, s)); });
  state.slices.forEach((sl, i) => {
    if (sl.v4) put(sliceObject(i, 'v4', sl.v4));
    if (sl.v6) put(sliceObject(i, 'v6', sl.v6));
  });
  if (state.node) put(nodeObject(state.node));
  put(OTHER_NODE);
  return out;
}

export function configDocument(c: ConfigSpec): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration',
    detectLocalMode: c.detectLocalMode,
    // syncPeriod an hour: a periodic check comes only when a test step lets an hour pass.
    nftables: { masqueradeAll: c.masqueradeAll, minSyncPeriod: '1s', syncPeriod: '1h' },
  };
  if (CLUSTER_CIDRS[c.clusterCIDR]) doc.clusterCIDR = CLUSTER_CIDRS[c.clusterCIDR];
  if (c.detectLocalMode === 'BridgeInterface') doc.detectLocal = { bridgeInterface: 'cbr0' };
  if (c.detectLocalMode === 'InterfaceNamePrefix') doc.detectLocal = { interfaceNamePrefix: 'veth' };
  const npa = NODE_PORT_ADDRESSES[c.nodePortAddresses];
  if (npa) doc.nodePortAddresses = npa;
  return doc;
}
