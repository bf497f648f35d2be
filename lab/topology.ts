// The lab's network on paper: names, addresses, and the `ip -batch` scripts that build each
// namespace. Nothing here touches the system.
//
//   client 172.30.0.100 ──┐        lan: bridge br0       ┌── node2 172.30.0.2 ── cni0 10.244.2.1 ── pods 10.244.2.N
//                         └── node1 172.30.0.1 ── cni0 10.244.1.1 ── pods 10.244.1.N
import net from 'node:net';

export type NodeName = 'node1' | 'node2';
export const NODE_NAMES: readonly NodeName[] = ['node1', 'node2'];

export interface PodSpec {
  name: string;
  node: NodeName;
  index: number;
}

export interface Addresses {
  ipv4: string;
  ipv6: string;
}

export const SERVICE_CIDRS = ['10.96.0.0/12', 'fd00:96::/108'];
export const CLIENT_ADDRESSES: Addresses = { ipv4: '172.30.0.100', ipv6: 'fd00:30::100' };
const LAN_V4_LEN = 24;
const LAN_V6_LEN = 64;

/** Roles that are not pods; pod names must differ from them. */
const FIXED_ROLES = ['lan', 'client', ...NODE_NAMES];
const POD_NAME = /^[a-z][a-z0-9-]{0,19}$/;

export function nodeNumber(node: NodeName): number {
  return node === 'node1' ? 1 : 2;
}

export function otherNode(node: NodeName): NodeName {
  return node === 'node1' ? 'node2' : 'node1';
}

export function nodeAddresses(node: NodeName): Addresses {
  const n = nodeNumber(node);
  return { ipv4: `172.30.0.${n}`, ipv6: `fd00:30::${n}` };
}

export function podCIDRs(node: NodeName): { podCIDRv4: string; podCIDRv6: string } {
  const n = nodeNumber(node);
  return { podCIDRv4: `10.244.${n}.0/24`, podCIDRv6: `fd00:244:${n}::/64` };
}

/** The bridge address on a node, the pods' gateway. */
export function gatewayAddresses(node: NodeName): Addresses {
  return podAddresses(node, 1);
}

/** Index N gives 10.244.<node>.N and fd00:244:<node>::N (the same digits, read as hex in IPv6). */
export function podAddresses(node: NodeName, index: number): Addresses {
  const n = nodeNumber(node);
  return { ipv4: `10.244.${n}.${index}`, ipv6: `fd00:244:${n}::${index}` };
}

export function nsName(prefix: string, role: string): string {
  return `${prefix}-${role}`;
}

/** The node-side end of a pod's veth pair (the pod side is eth0). */
export function podVethName(pod: PodSpec): string {
  return `vp${pod.index}`;
}

/** Throws unless the pods can join a lab that already has `existing`. */
export function checkPods(pods: PodSpec[], existing: PodSpec[] = []): void {
  const all = [...existing];
  for (const pod of pods) {
    if (!POD_NAME.test(pod.name) || FIXED_ROLES.includes(pod.name)) {
      throw new Error(`pod name ${JSON.stringify(pod.name)}: want [a-z][a-z0-9-]{0,19}, not ${FIXED_ROLES.join('/')}`);
    }
    if (!NODE_NAMES.includes(pod.node)) throw new Error(`pod ${pod.name}: no node ${JSON.stringify(pod.node)}`);
    if (!Number.isInteger(pod.index) || pod.index < 2 || pod.index > 254) {
      throw new Error(`pod ${pod.name}: index must be 2..254 (1 is the node's bridge), not ${pod.index}`);
    }
    const clash = all.find((p) => p.name === pod.name || (p.node === pod.node && p.index === pod.index));
    if (clash) throw new Error(`pod ${pod.name} (${pod.node} #${pod.index}) clashes with pod ${clash.name} (${clash.node} #${clash.index})`);
    all.push(pod);
  }
}

/** 4 or 6 for a CIDR such as 203.0.113.0/24 or 2001:db8:lb::/64; throws on anything else. */
export function cidrFamily(cidr: string): 4 | 6 {
  const [address, len, ...rest] = cidr.split('/');
  const family = net.isIP(address);
  const bits = Number(len);
  if (family === 0 || rest.length || !/^\d+$/.test(len ?? '') || bits > (family === 4 ? 32 : 128)) {
    throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`);
  }
  return family as 4 | 6;
}

function lines(...ls: string[]): string {
  return ls.map((l) => `${l}\n`).join('');
}

/** The LAN: a bridge with one veth to each node and to the client (eth0 on their side). */
export function lanScript(peers: { node1: string; node2: string; client: string }): string {
  const ports: [string, string][] = [['n1', peers.node1], ['n2', peers.node2], ['cl', peers.client]];
  return lines(
    'link set lo up',
    'link add br0 type bridge forward_delay 0 mcast_snooping 0',
    'link set br0 up',
    ...ports.flatMap(([port, ns]) => [
      `link add ${port} type veth peer name eth0 netns ${ns}`,
      `link set ${port} master br0`,
      `link set ${port} up`,
    ]),
  );
}

function hostAddressLines(a: Addresses): string[] {
  return [
    'link set lo up',
    `addr add ${a.ipv4}/${LAN_V4_LEN} dev eth0`,
    `addr add ${a.ipv6}/${LAN_V6_LEN} dev eth0 nodad`,
    'link set eth0 up',
  ];
}

/**
 * A node: its LAN address, the pod bridge cni0, routes to the other node's pods, and a default route
 * to the client, which plays the world outside the cluster (a real node always has a default route,
 * so traffic to a service address is routed, and rules see it, whatever its destination).
 */
export function nodeScript(node: NodeName): string {
  const gw = gatewayAddresses(node);
  const other = otherNode(node);
  const otherPods = podCIDRs(other);
  const otherLan = nodeAddresses(other);
  return lines(
    ...hostAddressLines(nodeAddresses(node)),
    'link add cni0 type bridge forward_delay 0 mcast_snooping 0',
    `addr add ${gw.ipv4}/24 dev cni0`,
    `addr add ${gw.ipv6}/64 dev cni0 nodad`,
    'link set cni0 up',
    `route add ${otherPods.podCIDRv4} via ${otherLan.ipv4}`,
    `route add ${otherPods.podCIDRv6} via ${otherLan.ipv6}`,
    `route add default via ${CLIENT_ADDRESSES.ipv4}`,
    `route add ::/0 via ${CLIENT_ADDRESSES.ipv6}`,
  );
}

/** Run in the pod's node: the veth pair into the pod, on cni0, hairpin on as CNI bridges do. */
export function podAttachScript(pod: PodSpec, podNs: string): string {
  const veth = podVethName(pod);
  return lines(
    `link add ${veth} type veth peer name eth0 netns ${podNs}`,
    `link set ${veth} master cni0`,
    `link set ${veth} type bridge_slave hairpin on`,
    `link set ${veth} up`,
  );
}

/** Run in the pod: its addresses and default routes via the node's bridge. */
export function podScript(pod: PodSpec): string {
  const a = podAddresses(pod.node, pod.index);
  const gw = gatewayAddresses(pod.node);
  return lines(
    'link set lo up',
    `addr add ${a.ipv4}/24 dev eth0`,
    `addr add ${a.ipv6}/64 dev eth0 nodad`,
    'link set eth0 up',
    `route add default via ${gw.ipv4}`,
    `route add ::/0 via ${gw.ipv6}`,
  );
}

/**
 * The client: on the LAN, with the service ranges and the extra (load balancer / external)
 * CIDRs via node1, and each node's pod CIDR via that node (a flat pod network, as with BGP).
 */
export function clientScript(extraRoutes: string[]): string {
  const node1 = nodeAddresses('node1');
  const via = (cidr: string, node: Addresses) => `route add ${cidr} via ${cidrFamily(cidr) === 4 ? node.ipv4 : node.ipv6}`;
  return lines(
    ...hostAddressLines(CLIENT_ADDRESSES),
    ...SERVICE_CIDRS.map((c) => via(c, node1)),
    ...NODE_NAMES.flatMap((n) => Object.values(podCIDRs(n)).map((c) => via(c, nodeAddresses(n)))),
    ...extraRoutes.map((c) => via(c, node1)),
  );
}

// Redirects stay off: a node sending "use node2 directly" for a DNATed flow would teach the
// client to bypass node1's rules. DAD is off so IPv6 addresses work at once.
const HOST_SYSCTLS = [
  'net.ipv4.conf.all.accept_redirects=0',
  'net.ipv4.conf.default.accept_redirects=0',
  'net.ipv6.conf.all.accept_redirects=0',
  'net.ipv6.conf.default.accept_redirects=0',
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
];

export const SYSCTLS: Record<'lan' | 'node' | 'host', string[]> = {
  // The switch is just a switch: bridged frames do not go through its (empty) IP hooks.
  lan: [
    'net.bridge.bridge-nf-call-iptables=0',
    'net.bridge.bridge-nf-call-ip6tables=0',
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv6.conf.default.accept_dad=0',
  ],
  node: [
    'net.ipv4.ip_forward=1', // first: turning it on rewrites accept_redirects
    'net.ipv6.conf.all.forwarding=1',
    ...HOST_SYSCTLS,
    'net.ipv4.conf.all.route_localnet=0',
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0',
    'net.ipv4.conf.all.send_redirects=0',
    'net.ipv4.conf.default.send_redirects=0',
    // As on a Kubernetes node (br_netfilter): pod-to-pod frames on cni0 see the nat hooks, so
    // a pod reaching a service backed by a pod on the same bridge gets its replies un-NATed.
    'net.bridge.bridge-nf-call-iptables=1',
    'net.bridge.bridge-nf-call-ip6tables=1',
  ],
  host: HOST_SYSCTLS,
};
