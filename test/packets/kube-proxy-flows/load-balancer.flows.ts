// kube-proxy's TestLoadBalancer and TestNodePorts as flows.
import { startEchoProcess } from '../../../lab/echo-process.ts';
import type { Flow, FlowGroup } from './flows.ts';
import { ALT_NODE_IP, ipOk, NODE_IP } from './kp-lab.ts';

const reach = (masq: boolean, ...reach: string[]) => ({ reach, masq });
const LB1 = '198.51.100.4';
const LB2 = '198.51.100.8';
const ep = reach(true, 'r1:80');

export const LOAD_BALANCER_GROUPS: FlowGroup[] = [
  {
    title: 'TestLoadBalancer',
    fixture: 'kp-load-balancer',
    flows: [
      { name: 'pod to cluster IP', from: 'pod', to: '10.96.0.41', port: 80, expect: reach(false, 'r1:80') },
      { name: 'external to nodePort', from: 'client', to: NODE_IP[4], port: 3001, expect: ep },
      { name: 'nodePort bypasses LoadBalancerSourceRanges', from: 'blocked-client', to: NODE_IP[4], port: 3001, expect: ep },
      { name: 'accepted external to LB1', from: 'client', to: LB1, port: 80, expect: ep },
      { name: 'accepted external to LB2', from: 'client', to: LB2, port: 80, expect: ep },
      { name: 'blocked external to LB1', from: 'blocked-client', to: LB1, port: 80, expect: 'DROP' },
      { name: 'blocked external to LB2', from: 'blocked-client', to: LB2, port: 80, expect: 'DROP' },
      { name: 'pod to LB1 (blocked by LoadBalancerSourceRanges)', from: 'pod', to: LB1, port: 80, expect: 'DROP' },
      { name: 'pod to LB2 (blocked by LoadBalancerSourceRanges)', from: 'pod', to: LB2, port: 80, expect: 'DROP' },
      // The endpoint is on node2, where the node's address and its masquerade look alike: these two
      // check the endpoint and the source range, not the masquerade.
      { name: 'node to LB1 (allowed by LoadBalancerSourceRanges)', from: 'node', to: LB1, port: 80, expect: ep },
      { name: 'node to LB2 (allowed by LoadBalancerSourceRanges)', from: 'node', to: LB2, port: 80, expect: ep },
    ],
  },
  {
    title: 'TestLoadBalancer, the load-balancer IPs bound on the node',
    fixture: 'kp-load-balancer',
    // "Something external to kube-proxy" SNATs a node's connection to an LB IP to that IP: here the
    // IPs are the node's own, so a connection to one leaves from it.
    setup: async (lab) => {
      for (const ip of [LB1, LB2]) await ipOk(lab, lab.node1.ns, ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
      return async () => { for (const ip of [LB1, LB2]) await ipOk(lab, lab.node1.ns, ['addr', 'del', `${ip}/32`, 'dev', 'lo']); };
    },
    flows: [
      { name: 'same node to LB1, SNATted to LB1 (implicitly allowed)', from: { nodeAddress: LB1 }, to: LB1, port: 80, expect: ep },
      { name: 'same node to LB2, SNATted to LB2 (implicitly allowed)', from: { nodeAddress: LB2 }, to: LB2, port: 80, expect: ep },
    ],
  },
];

// Endpoint 1 names no node (r1), endpoint 2 is the test node's (l1).
function nodePortFlows(family: 4 | 6, altServed: boolean): Flow[] {
  const both = (masq: boolean) => reach(masq, 'l1:80', 'r1:80');
  return [
    { name: 'pod to cluster IP', from: 'pod', to: family === 4 ? '10.96.0.41' : 'fd00:96::41', port: 80, expect: both(false) },
    { name: 'external to nodePort', from: 'client', to: NODE_IP[family], port: 3001, expect: both(true) },
    { name: 'node to nodePort', from: 'node', to: NODE_IP[family], port: 3001, expect: both(true) },
    altServed
      ? { name: 'external to nodePort on secondary IP', from: 'client', to: ALT_NODE_IP[family], port: 3001, expect: both(true) }
      : { name: 'secondary nodeIP ignores NodePorts', from: 'client', to: ALT_NODE_IP[family], port: 3001, expect: 'HOST' },
  ];
}

/** A server of node1's own on the node port: what answers where no rule applies. */
async function nodeOwnServer(lab: Parameters<NonNullable<FlowGroup['setup']>>[0]) {
  const own = await startEchoProcess(lab.node1.ns, 'node1-own', [3001], []);
  return () => own.stop();
}

export const NODE_PORT_GROUPS: FlowGroup[] = [
  { title: 'TestNodePorts/ipv4', fixture: 'kp-node-ports', setup: nodeOwnServer, flows: nodePortFlows(4, false) },
  { title: 'TestNodePorts/ipv4, multiple nodeport-addresses', fixture: 'kp-node-ports-addresses', setup: nodeOwnServer, flows: nodePortFlows(4, true) },
  { title: 'TestNodePorts/ipv6', fixture: 'kp-node-ports', setup: nodeOwnServer, flows: nodePortFlows(6, false) },
  { title: 'TestNodePorts/ipv6, multiple nodeport-addresses', fixture: 'kp-node-ports-addresses', setup: nodeOwnServer, flows: nodePortFlows(6, true) },
];
