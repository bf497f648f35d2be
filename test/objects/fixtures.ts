// Objects with every field the API server can give them set (and some only other tools set), for
// the slimming tests: what lib/objects keeps of them must be everything lib/model reads.
const meta = (name: string, namespace?: string, extra: Record<string, unknown> = {}) => ({
  name, ...(namespace ? { namespace } : {}), uid: `uid-${name}`, resourceVersion: '12', generation: 3,
  creationTimestamp: '2026-01-01T00:00:00Z', labels: { app: name, 'kubernetes.io/service-name': 'web' },
  annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' },
  managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
  ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-web' }], finalizers: ['x'], ...extra,
});

export const fullService = (lb?: string) => ({
  apiVersion: 'v1', kind: 'Service',
  metadata: meta('web', 'prod', lb ? { annotations: { 'sluice.dev/lb-algorithm': lb, other: 'x' } } : {}),
  spec: {
    type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00:96::10'],
    ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack', selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080, appProtocol: 'http' },
      { name: 'dns', port: 53, targetPort: 'dns', protocol: 'UDP', nodePort: 30053 },
    ],
    externalIPs: ['192.0.2.10'], externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local', healthCheckNodePort: 31000,
    loadBalancerSourceRanges: ['203.0.113.0/24'], loadBalancerIP: '198.18.0.9', loadBalancerClass: 'x/y',
    allocateLoadBalancerNodePorts: true, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
    publishNotReadyAddresses: false, trafficDistribution: 'PreferClose',
  },
  status: {
    loadBalancer: { ingress: [{ ip: '198.18.0.1', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }, { ip: '2001:db8::1' }] },
    conditions: [{ type: 'x', status: 'True' }],
  },
});

export const fullSlice = () => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: meta('web-abcde', 'prod', { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:01Z', other: 'x' } }),
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }, { name: 'dns', port: 53, protocol: 'UDP' }],
  endpoints: [
    {
      addresses: ['10.128.0.1', '10.128.0.100'], conditions: { ready: true, serving: true, terminating: false },
      hostname: 'web-0', nodeName: 'node1', zone: 'a', hints: { forZones: [{ name: 'a' }], forNodes: [{ name: 'node1' }] },
      targetRef: { kind: 'Pod', namespace: 'prod', name: 'web-0', uid: 'uid-pod-0' }, deprecatedTopology: { x: 'y' },
    },
    { addresses: ['10.128.0.2'], conditions: { ready: false, serving: true, terminating: true }, nodeName: 'node2', zone: 'b' },
    { addresses: ['10.128.0.3'], nodeName: 'node3' },
  ],
});

export const fullEndpoints = () => ({
  apiVersion: 'v1', kind: 'Endpoints', metadata: meta('legacy', 'prod'),
  subsets: [{
    addresses: [{ ip: '10.128.1.1', nodeName: 'node1', hostname: 'h', targetRef: { kind: 'Pod', name: 'p' } }],
    notReadyAddresses: [{ ip: '10.128.1.2', nodeName: 'node2' }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  }],
});

export const fullLegacyService = () => ({
  apiVersion: 'v1', kind: 'Service', metadata: meta('legacy', 'prod'),
  spec: { type: 'ClusterIP', clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
});

export const fullNode = () => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: meta('node1', undefined, { labels: { 'topology.kubernetes.io/zone': 'a', 'kubernetes.io/hostname': 'node1' } }),
  spec: { podCIDR: '10.128.0.0/24', podCIDRs: ['10.128.0.0/24', 'fd00:128::/64'], providerID: 'x', taints: [{ key: 'k', effect: 'NoSchedule' }], unschedulable: false },
  status: {
    addresses: [{ type: 'InternalIP', address: '172.30.0.1' }, { type: 'InternalIP', address: 'fd00:30::1' }, { type: 'Hostname', address: 'node1' }],
    capacity: { cpu: '4' }, conditions: [{ type: 'Ready', status: 'True' }], images: [{ names: ['big/image'], sizeBytes: 1 }],
    nodeInfo: { kernelVersion: '6.1' },
  },
});

export const fullServiceCIDR = () => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: meta('kubernetes'),
  spec: { cidrs: ['10.96.0.0/16', 'fd00:96::/108'] }, status: { conditions: [{ type: 'Ready', status: 'True' }] },
});
