// kube-proxy's TestClusterIPGeneral, TestNoEndpointsReject and TestInternalTrafficPolicy as flows.
// Not here: TestClusterIPGeneral's SCTP flow (the lab's probe speaks TCP and UDP only).
import type { FlowGroup } from './flows.ts';
import { ipOk } from './kp-lab.ts';

const reach = (masq: boolean, ...reach: string[]) => ({ reach, masq });

export const CLUSTER_IP_GROUPS: FlowGroup[] = [
  {
    title: 'TestClusterIPGeneral',
    fixture: 'kp-cluster-ip-general',
    // The unallocated cluster IP is taken on the client, where node1's default route leads: a
    // packet that was not dropped would be refused there.
    setup: async (lab) => {
      await ipOk(lab, lab.client.ns, ['addr', 'add', '10.96.0.50/32', 'dev', 'lo']);
      return () => ipOk(lab, lab.client.ns, ['addr', 'del', '10.96.0.50/32', 'dev', 'lo']);
    },
    flows: [
      { name: 'simple clusterIP', from: 'pod', to: '10.96.0.41', port: 80, expect: reach(false, 'l1:80') },
      { name: 'hairpin to cluster IP', from: { endpoint: 'l1' }, to: '10.96.0.41', port: 80, expect: reach(true, 'l1:80') },
      { name: 'clusterIP with multiple endpoints', from: 'pod', to: '10.96.0.42', port: 80, expect: reach(false, 'l1:80', 'r1:80') },
      { name: 'clusterIP with TargetPort', from: 'pod', to: '10.96.0.42', port: 443, expect: reach(false, 'l1:8443', 'r1:8443') },
      { name: 'clusterIP with TCP, UDP, and SCTP on same port (TCP)', from: 'pod', to: '10.96.0.42', port: 53, expect: reach(false, 'l1:5353', 'r1:5353') },
      { name: 'clusterIP with TCP, UDP, and SCTP on same port (UDP)', from: 'pod', proto: 'udp', to: '10.96.0.42', port: 53, expect: reach(false, 'l1:53', 'r1:53') },
      { name: 'TCP-only port does not match UDP traffic', from: 'pod', proto: 'udp', to: '10.96.0.42', port: 80, expect: 'REJECT' },
      { name: "svc1 does not accept svc2's ports", from: 'pod', to: '10.96.0.41', port: 443, expect: 'REJECT' },
      { name: 'packet to unallocated cluster ip', from: 'pod', to: '10.96.0.50', port: 80, expect: 'DROP' },
    ],
  },
  {
    title: 'TestNoEndpointsReject',
    fixture: 'kp-no-endpoints-reject',
    flows: [
      { name: 'pod to cluster IP with no endpoints', from: 'pod', to: '10.96.0.41', port: 80, expect: 'REJECT' },
      { name: 'external to external IP with no endpoints', from: 'client', to: '203.0.113.11', port: 80, expect: 'REJECT' },
      { name: 'pod to NodePort with no endpoints', from: 'pod', to: '172.30.0.1', port: 3001, expect: 'REJECT' },
      { name: 'external to NodePort with no endpoints', from: 'client', to: '172.30.0.1', port: 3001, expect: 'REJECT' },
      { name: 'pod to LoadBalancer IP with no endpoints', from: 'pod', to: '198.51.100.4', port: 80, expect: 'REJECT' },
      { name: 'external to LoadBalancer IP with no endpoints', from: 'client', to: '198.51.100.4', port: 80, expect: 'REJECT' },
    ],
  },
  {
    title: 'TestInternalTrafficPolicy',
    fixture: 'kp-internal-traffic-policy',
    flows: [
      { name: 'internalTrafficPolicy is cluster: pod to ClusterIP hits all endpoints', from: 'pod', to: '10.96.1.1', port: 80, expect: reach(false, 'l1:80', 'r1:80', 'r2:80') },
      { name: 'internalTrafficPolicy is local and there is one local endpoint: pod to ClusterIP hits only local endpoint', from: 'pod', to: '10.96.1.2', port: 80, expect: reach(false, 'l1:80') },
      { name: 'internalTrafficPolicy is local and there are multiple local endpoints: pod to ClusterIP hits all local endpoints', from: 'pod', to: '10.96.1.3', port: 80, expect: reach(false, 'l1:80', 'l2:80') },
      { name: 'internalTrafficPolicy is local and there are no local endpoints: no endpoints', from: 'pod', to: '10.96.1.4', port: 80, expect: 'DROP' },
      { name: 'endpoints deleted', from: 'pod', to: '10.96.1.9', port: 80, expect: 'REJECT' },
    ],
  },
];
