// The changes the kernel tests apply as partial transactions: pairs of object sets, plain data.
// Each one changes one thing sluice must express without replacing its tables.

type Obj = Record<string, unknown>;

export const NODE = 'node1';

/** One configuration for every case, so that any two states differ only in their objects. */
export const CONFIG = {
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration',
  clusterCIDR: '10.244.0.0/16,fd00:244::/32', nodePortAddresses: ['primary'],
};

const node: Obj = {
  kind: 'Node', metadata: { name: NODE },
  spec: { podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'] },
  status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }, { type: 'InternalIP', address: 'fd00:30::1' }] },
};

interface ServiceShape {
  name?: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  protocol?: 'TCP' | 'UDP';
  /** Endpoints: the first half on this node, the rest on node2. */
  endpoints?: number;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /** ClientIP affinity with this timeout in seconds. */
  affinity?: number;
  sourceRanges?: string[];
  ipv6?: boolean;
  /** The sluice.dev/lb-algorithm annotation: maglev hashes external traffic into a table map. */
  algorithm?: 'maglev' | 'random';
}

/** A Service and its EndpointSlice. Addresses derive from the name's index so services never collide. */
function service(s: ServiceShape, index: number): Obj[] {
  const name = s.name ?? 'web';
  const v6 = s.ipv6 ?? false;
  const protocol = s.protocol ?? 'TCP';
  const type = s.type ?? 'ClusterIP';
  const spec: Obj = {
    type, clusterIP: v6 ? `fd00:96::${index + 1}` : `10.96.0.${index + 1}`,
    ports: [{ name: 'p', port: 80, targetPort: 9376, protocol, ...(type !== 'ClusterIP' ? { nodePort: 30000 + index } : {}) }],
  };
  if (v6) Object.assign(spec, { ipFamilies: ['IPv6'] });
  if (s.externalTrafficPolicy) spec.externalTrafficPolicy = s.externalTrafficPolicy;
  if (s.externalTrafficPolicy === 'Local' && type === 'LoadBalancer') spec.healthCheckNodePort = 32000 + index;
  if (s.affinity !== undefined) Object.assign(spec, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: s.affinity } } });
  if (s.sourceRanges) spec.loadBalancerSourceRanges = s.sourceRanges;
  const metadata: Obj = { name, namespace: 'kt', ...(s.algorithm ? { annotations: { 'sluice.dev/lb-algorithm': s.algorithm } } : {}) };
  const svc: Obj = { kind: 'Service', metadata, spec };
  if (type === 'LoadBalancer') svc.status = { loadBalancer: { ingress: [{ ip: v6 ? `2001:db8:100::${index + 1}` : `198.51.100.${index + 1}` }] } };
  const n = s.endpoints ?? 2;
  const slice: Obj = {
    kind: 'EndpointSlice',
    metadata: { name: `${name}-1`, namespace: 'kt', labels: { 'kubernetes.io/service-name': name } },
    addressType: v6 ? 'IPv6' : 'IPv4',
    ports: [{ name: 'p', port: 9376, protocol }],
    endpoints: Array.from({ length: n }, (_, i) => {
      const onNode = i < Math.ceil(n / 2) ? 1 : 2;
      const host = index * 32 + i + 10;
      return { addresses: [v6 ? `fd00:244:${onNode}::${host.toString(16)}` : `10.244.${onNode}.${host}`], conditions: { ready: true }, nodeName: `node${onNode}` };
    }),
  };
  return [svc, slice];
}

/** A cluster state: the node, a service that never changes (so the tables are never trivial), and these. */
function state(...services: ServiceShape[]): Obj[] {
  const all: ServiceShape[] = [{ name: 'steady', endpoints: 3, type: 'NodePort' }, ...services];
  return [node, ...all.flatMap((s, i) => service(s, i))];
}

export interface Transition { name: string; from: Obj[]; to: Obj[] }

const t = (name: string, from: Obj[], to: Obj[]): Transition => ({ name, from, to });
const lb: ServiceShape = { type: 'LoadBalancer', endpoints: 4 };

export const TRANSITIONS: Transition[] = [
  // Across the 16-endpoint line between a DNAT cascade and an endpoint map, both ways, TCP and UDP.
  t('endpoints-3-to-20', state({ endpoints: 3 }), state({ endpoints: 20 })),
  t('endpoints-20-to-2', state({ endpoints: 20 }), state({ endpoints: 2 })),
  t('endpoints-16-to-17', state({ endpoints: 16 }), state({ endpoints: 17 })),
  t('endpoints-17-to-16', state({ endpoints: 17 }), state({ endpoints: 16 })),
  t('endpoints-20-to-30', state({ endpoints: 20 }), state({ endpoints: 30 })),
  t('endpoints-2-to-0', state({ endpoints: 2 }), state({ endpoints: 0 })),
  t('endpoints-0-to-3', state({ endpoints: 0 }), state({ endpoints: 3 })),
  t('udp-endpoints-3-to-20', state({ protocol: 'UDP', endpoints: 3 }), state({ protocol: 'UDP', endpoints: 20 })),
  t('udp-endpoints-20-to-2', state({ protocol: 'UDP', endpoints: 20 }), state({ protocol: 'UDP', endpoints: 2 })),
  // A service and everything it brings (chains, maps, dispatch elements), in and out.
  t('service-added', state(), state({ endpoints: 3 })),
  t('service-removed', state({ endpoints: 3 }), state()),
  t('service-with-map-added', state(), state({ endpoints: 20 })),
  t('service-with-map-removed', state({ endpoints: 20 }), state()),
  // Type changes: node port and load-balancer chains and elements appear and go.
  t('clusterip-to-nodeport', state({ type: 'ClusterIP' }), state({ type: 'NodePort' })),
  t('nodeport-to-loadbalancer', state({ type: 'NodePort' }), state({ type: 'LoadBalancer' })),
  t('loadbalancer-to-clusterip', state({ type: 'LoadBalancer' }), state({ type: 'ClusterIP' })),
  // externalTrafficPolicy: the ext/ chain switches to this node's endpoints (epl/ maps above 16).
  t('etp-cluster-to-local', state({ ...lb }), state({ ...lb, externalTrafficPolicy: 'Local' })),
  t('etp-local-to-cluster', state({ ...lb, externalTrafficPolicy: 'Local' }), state({ ...lb })),
  t('etp-cluster-to-local-20', state({ ...lb, endpoints: 20 }), state({ ...lb, endpoints: 20, externalTrafficPolicy: 'Local' })),
  t('etp-local-to-cluster-20', state({ ...lb, endpoints: 20, externalTrafficPolicy: 'Local' }), state({ ...lb, endpoints: 20 })),
  // ClientIP affinity: per-endpoint chains and sets with a timeout.
  t('affinity-added', state({ endpoints: 3 }), state({ endpoints: 3, affinity: 600 })),
  t('affinity-removed', state({ endpoints: 3, affinity: 600 }), state({ endpoints: 3 })),
  t('affinity-timeout-changed', state({ endpoints: 3, affinity: 600 }), state({ endpoints: 3, affinity: 1800 })),
  t('affinity-endpoints-3-to-20', state({ endpoints: 3, affinity: 600 }), state({ endpoints: 20, affinity: 600 })),
  // loadBalancerSourceRanges: firewall elements.
  t('source-ranges-added', state({ ...lb }), state({ ...lb, sourceRanges: ['203.0.113.0/24', '192.0.2.7/32'] })),
  t('source-ranges-removed', state({ ...lb, sourceRanges: ['203.0.113.0/24', '192.0.2.7/32'] }), state({ ...lb })),
  t('source-ranges-changed', state({ ...lb, sourceRanges: ['203.0.113.0/24'] }), state({ ...lb, sourceRanges: ['192.0.2.0/25'] })),
  // IPv6: the ip6 table.
  t('ipv6-service-added', state(), state({ ipv6: true, endpoints: 3, type: 'NodePort' })),
  t('ipv6-service-removed', state({ ipv6: true, endpoints: 3, type: 'NodePort' }), state()),
  t('ipv6-endpoints-3-to-20', state({ ipv6: true, endpoints: 3 }), state({ ipv6: true, endpoints: 20 })),
  t('ipv6-loadbalancer-local-affinity-added', state({ ipv6: true }), state({ ipv6: true, ...lb, externalTrafficPolicy: 'Local', affinity: 300, sourceRanges: ['2001:db8:1::/48'] })),
  // Maglev: a table map per service port, its elements moved when an endpoint goes, the map in and out.
  t('maglev-endpoints-5-to-4', state({ ...lb, endpoints: 5, algorithm: 'maglev' }), state({ ...lb, endpoints: 4, algorithm: 'maglev' })),
  t('maglev-on', state({ ...lb, endpoints: 5 }), state({ ...lb, endpoints: 5, algorithm: 'maglev' })),
  t('maglev-off', state({ ...lb, endpoints: 5, algorithm: 'maglev' }), state({ ...lb, endpoints: 5, algorithm: 'random' })),
  // Several changes in one sync.
  t('many-at-once', state({ endpoints: 3 }, { name: 'db', endpoints: 20, affinity: 60 }),
    state({ endpoints: 20, type: 'LoadBalancer', sourceRanges: ['203.0.113.0/24'] }, { name: 'cache', ipv6: true, endpoints: 2 })),
];
