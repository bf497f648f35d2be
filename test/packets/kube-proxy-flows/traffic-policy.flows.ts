// kube-proxy's TestExternalTrafficPolicyLocal, TestExternalTrafficPolicyCluster and
// TestTerminatingEndpointsTrafficPolicyLocal / Cluster as flows.
import type { Flow, FlowGroup } from './flows.ts';
import { NODE_IP } from './kp-lab.ts';

const reach = (masq: boolean, ...reach: string[]) => ({ reach, masq });
const EXTERNAL_IP = '203.0.113.11';
const LB = '198.51.100.4';

// Endpoint 10.180.0.1 names no node (r1), 10.180.2.1 is the test node's (l1).
const both = (masq: boolean) => reach(masq, 'l1:80', 'r1:80');
const local = reach(false, 'l1:80');

export const EXTERNAL_POLICY_GROUPS: FlowGroup[] = [
  {
    title: 'TestExternalTrafficPolicyLocal',
    fixture: 'kp-external-traffic-policy-local',
    flows: [
      { name: 'pod to cluster IP hits both endpoints, unmasqueraded', from: 'pod', to: '10.96.0.41', port: 80, expect: both(false) },
      { name: 'pod to external IP hits both endpoints, unmasqueraded', from: 'pod', to: EXTERNAL_IP, port: 80, expect: both(false) },
      { name: 'external to external IP hits only local endpoint, unmasqueraded', from: 'client', to: EXTERNAL_IP, port: 80, expect: local },
      { name: 'pod to LB IP hits only both endpoints, unmasqueraded', from: 'pod', to: LB, port: 80, expect: both(false) },
      { name: 'external to LB IP hits only local endpoint, unmasqueraded', from: 'client', to: LB, port: 80, expect: local },
      { name: 'pod to NodePort hits both endpoints, unmasqueraded', from: 'pod', to: NODE_IP[4], port: 3001, expect: both(false) },
      { name: 'external to NodePort hits only local endpoint, unmasqueraded', from: 'client', to: NODE_IP[4], port: 3001, expect: local },
    ],
  },
  {
    title: 'TestExternalTrafficPolicyCluster',
    fixture: 'kp-external-traffic-policy-cluster',
    flows: [
      { name: 'pod to cluster IP hits both endpoints, unmasqueraded', from: 'pod', to: '10.96.0.41', port: 80, expect: both(false) },
      { name: 'pod to external IP hits both endpoints, masqueraded', from: 'pod', to: EXTERNAL_IP, port: 80, expect: both(true) },
      { name: 'external to external IP hits both endpoints, masqueraded', from: 'client', to: EXTERNAL_IP, port: 80, expect: both(true) },
      { name: 'pod to LB IP hits both endpoints, masqueraded', from: 'pod', to: LB, port: 80, expect: both(true) },
      { name: 'external to LB IP hits both endpoints, masqueraded', from: 'client', to: LB, port: 80, expect: both(true) },
      { name: 'pod to NodePort hits both endpoints, masqueraded', from: 'pod', to: NODE_IP[4], port: 3001, expect: both(true) },
      { name: 'external to NodePort hits both endpoints, masqueraded', from: 'client', to: NODE_IP[4], port: 3001, expect: both(true) },
    ],
  },
];

// Sub-case N's service is 10.96.1.N with load-balancer IP 198.51.100.(40+N); "deleted" is 10.96.1.9 / .49.
function terminatingFlows(cases: [string, Flow['expect'], Flow['expect']][]): Flow[] {
  const flows: Flow[] = [];
  cases.forEach(([subcase, toClusterIP, toLB], i) => {
    flows.push({ name: `${subcase}: pod to clusterIP`, from: 'pod', to: `10.96.1.${i + 1}`, port: 80, expect: toClusterIP });
    flows.push({ name: `${subcase}: external to LB`, from: 'client', to: `198.51.100.${41 + i}`, port: 80, expect: toLB });
  });
  flows.push({ name: 'pod to clusterIP after endpoints deleted', from: 'pod', to: '10.96.1.9', port: 80, expect: 'REJECT' });
  flows.push({ name: 'external to LB after endpoints deleted', from: 'client', to: '198.51.100.49', port: 80, expect: 'REJECT' });
  return flows;
}

export const TERMINATING_GROUPS: FlowGroup[] = [
  {
    title: 'TestTerminatingEndpointsTrafficPolicyLocal',
    fixture: 'kp-terminating-endpoints-local',
    flows: terminatingFlows([
      ['ready endpoints exist', reach(false, 'l1:80', 'l2:80', 'r1:80'), reach(false, 'l1:80', 'l2:80')],
      ['only terminating endpoints exist', reach(false, 'r1:80'), reach(false, 'l2:80', 'l3:80')],
      ['terminating endpoints on remote node', reach(false, 'r1:80'), 'DROP'],
      ['no usable endpoints on any node', 'REJECT', 'REJECT'],
    ]),
  },
  {
    title: 'TestTerminatingEndpointsTrafficPolicyCluster',
    fixture: 'kp-terminating-endpoints-cluster',
    flows: terminatingFlows([
      ['ready endpoints exist', reach(false, 'l1:80', 'l2:80', 'r3:80'), reach(true, 'l1:80', 'l2:80', 'r3:80')],
      ['only terminating endpoints exist', reach(false, 'l2:80', 'l3:80', 'r3:80'), reach(true, 'l2:80', 'l3:80', 'r3:80')],
      ['terminating endpoints on remote node', reach(false, 'r3:80'), reach(true, 'r3:80')],
      ['no usable endpoints on any node', 'REJECT', 'REJECT'],
    ]),
  },
];
