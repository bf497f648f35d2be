// The lab for kube-proxy's packet-flow tests (pkg/proxy/nftables/proxier_test.go, runPacketFlowTests),
// with kube-proxy's test addresses mapped onto the lab's:
//
//   kube-proxy                         here
//   node IP 192.168.0.2                node1 172.30.0.1 (fd00:30::1)
//   alternate node IP 192.168.1.2      172.31.1.2 (fd00:31:1::2) on node1's eth0, routed via node1
//   a pod, 10.0.0.2 / 10.180.0.2       pod "cp" on node1, 10.244.1.2: never an endpoint
//   endpoints on the test node         pods l1..l4 on node1, 10.244.1.11..14
//   endpoints elsewhere (or no node)   pods r1..r3 on node2, 10.244.2.11..13
//   external client 203.0.113.2        the client 172.30.0.100 (fd00:30::100)
//   blocked client 203.0.113.130       the client's second address 172.30.0.130
//   cluster IPs 172.30.X.Y             10.96.X.Y (fd00:96::X:Y), service CIDRs 10.96.0.0/12, fd00:96::/108
//   LB IPs 1.2.3.4, 5.6.7.8, 9.10.11.12   198.51.100.4, .8, .12
//   external IP 192.168.99.11          203.0.113.11
//   pod CIDR 10.0.0.0/8                clusterCIDR 10.244.0.0/16 (fd00:244::/32)
//
// node2 sends its replies to the client through node1: kube-proxy's tests leave some client flows
// unmasqueraded towards endpoints on other nodes, and a reply that skipped node1 would never be
// un-DNATed (the lab's LAN is flat; a real client sits behind a router).
import { join } from 'node:path';
import { createLab, type Lab, type LabHost } from '../../../lab/lab.ts';
import { FIXTURES, renderCase } from '../../support/render-case.ts';

export const NODE_IP = { 4: '172.30.0.1', 6: 'fd00:30::1' } as const;
export const ALT_NODE_IP = { 4: '172.31.1.2', 6: 'fd00:31:1::2' } as const;
export const CLIENT_IP = { 4: '172.30.0.100', 6: 'fd00:30::100' } as const;
export const BLOCKED_CLIENT_IP = '172.30.0.130';
/** What a masqueraded packet carries as its source, by the node of the endpoint it reaches. */
export const MASQUERADED_SOURCE = {
  node1: { 4: '10.244.1.1', 6: 'fd00:244:1::1' },
  node2: { 4: '172.30.0.1', 6: 'fd00:30::1' },
} as const;

/** The ports kube-proxy's services and endpoints use; every pod answers on all of them. */
const TCP_PORTS = [80, 8443, 5353];
const UDP_PORTS = [53];

export async function startKubeProxyLab(): Promise<Lab> {
  const lab = await createLab({
    pods: [
      { name: 'cp', node: 'node1', index: 2 },
      ...[1, 2, 3, 4].map((i) => ({ name: `l${i}`, node: 'node1' as const, index: 10 + i })),
      ...[1, 2, 3].map((i) => ({ name: `r${i}`, node: 'node2' as const, index: 10 + i })),
    ],
    tcpPorts: TCP_PORTS,
    udpPorts: UDP_PORTS,
    extraRoutes: ['198.51.100.0/24', '203.0.113.0/24', '172.31.1.0/24', 'fd00:31:1::/64'],
  });
  try {
    await ipOk(lab, lab.client.ns, ['addr', 'add', `${BLOCKED_CLIENT_IP}/24`, 'dev', 'eth0']);
    await ipOk(lab, lab.node1.ns, ['addr', 'add', `${ALT_NODE_IP[4]}/32`, 'dev', 'eth0']);
    // Deprecated (preferred_lft 0): still the node's, but never picked as a source, so masquerade
    // keeps using the node's main address, to which the other node's replies are routed.
    await ipOk(lab, lab.node1.ns, ['addr', 'add', `${ALT_NODE_IP[6]}/128`, 'dev', 'eth0', 'nodad', 'preferred_lft', '0']);
    for (const ip of [CLIENT_IP[4], BLOCKED_CLIENT_IP]) await ipOk(lab, lab.node2.ns, ['route', 'add', `${ip}/32`, 'via', NODE_IP[4]]);
    await ipOk(lab, lab.node2.ns, ['route', 'add', `${CLIENT_IP[6]}/128`, 'via', NODE_IP[6]]);
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

export async function ipOk(lab: Lab, ns: string, args: string[]): Promise<void> {
  const r = await lab.exec(ns, 'ip', args);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')} in ${ns}: ${r.stderr.trim()}`);
}

/** Replaces node1's rules with those sluice renders for rules-fixtures/<name>. */
export async function loadFixture(lab: Lab, name: string): Promise<void> {
  await lab.loadRules(renderCase(join(FIXTURES, name)).script);
}

export function labPod(lab: Lab, name: string): LabHost & { node: 'node1' | 'node2' } {
  const p = lab.pods.find((x) => x.name === name);
  if (!p) throw new Error(`no pod ${name} in the lab`);
  return p;
}
