// A throwaway node for `sluice trace --kernel`: three network namespaces made for the occasion and
// deleted afterwards. The node holds sluice's rules, its addresses on lo and a `sink` interface its
// routes point at (so a DNATed packet is routed and reaches postrouting); a pod namespace and an
// outside namespace each reach it over a veth, the pod's named so that interface-based pod
// detection (bridgeInterface, interfaceNamePrefix) matches it. Static neighbours: no ARP, no DAD.
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import type { PodSourceMatch } from '../nft/ir.ts';

export interface ScratchNode {
  node: string;
  pod: string;
  external: string;
  /** Adds an address to the sender's side: a peer's veth, or the node's lo. */
  addSource(where: 'pod' | 'external' | 'node', address: string): Promise<void>;
}

const NODE_MAC = { pod: '02:00:00:00:01:01', external: '02:00:00:00:02:01' };
const LINK_V4 = '169.254.100.1';
const LINK_V6 = 'fe80::1';

/** Node-side interface names: the pod's one as pod detection expects, the outside one never like it. */
export function interfaceNames(ps: PodSourceMatch): { pod: string; external: string } {
  const pod = ps.kind === 'bridge' ? ps.iface : ps.kind === 'prefix' ? (ps.prefix + '0').slice(0, 15) : 'pod0';
  const matches = (n: string) => (ps.kind === 'bridge' && n === ps.iface) || (ps.kind === 'prefix' && n.startsWith(ps.prefix));
  const external = ['ext0', 'wan0', '0ext'].find((n) => !matches(n) && n !== pod)!;
  return { pod, external };
}

async function ip(ns: string | undefined, args: string[]): Promise<void> {
  await execa('ip', ns ? ['-n', ns, ...args] : args);
}

async function sysctl(ns: string, settings: string[]): Promise<void> {
  await execa('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...settings]);
}

export async function withScratchNode<T>(o: { nodeIPs: string[]; podSource: PodSourceMatch }, fn: (n: ScratchNode) => Promise<T>): Promise<T> {
  const base = `sluice-trace-${randomBytes(4).toString('hex')}`;
  const n: ScratchNode = {
    node: `${base}-n`, pod: `${base}-p`, external: `${base}-e`,
    async addSource(where, address) {
      const len = address.includes(':') ? 128 : 32;
      const extra = address.includes(':') ? ['nodad'] : [];
      if (where === 'node') await ip(n.node, ['addr', 'replace', `${address}/${len}`, 'dev', 'lo', ...extra]);
      else await ip(where === 'pod' ? n.pod : n.external, ['addr', 'replace', `${address}/${len}`, 'dev', 'eth0', ...extra]);
    },
  };
  const names = [n.node, n.pod, n.external];
  try {
    for (const ns of names) {
      await execa('ip', ['netns', 'add', ns]);
      await ip(ns, ['link', 'set', 'lo', 'up']);
    }
    await sysctl(n.node, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    const ifaces = interfaceNames(o.podSource);
    for (const side of ['pod', 'external'] as const) {
      const peer = side === 'pod' ? n.pod : n.external;
      await ip(undefined, ['link', 'add', ifaces[side], 'netns', n.node, 'address', NODE_MAC[side], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer]);
      await sysctl(peer, ['net.ipv6.conf.eth0.accept_dad=0']);
      await ip(n.node, ['link', 'set', ifaces[side], 'up']);
      await ip(n.node, ['addr', 'add', `${LINK_V4}/32`, 'dev', ifaces[side]]);
      await ip(n.node, ['addr', 'add', `${LINK_V6}/64`, 'dev', ifaces[side], 'nodad']);
      await sysctl(n.node, [`net.ipv4.conf.${ifaces[side]}.rp_filter=0`]);
      await ip(peer, ['link', 'set', 'eth0', 'up']);
      await ip(peer, ['neigh', 'replace', LINK_V4, 'lladdr', NODE_MAC[side], 'dev', 'eth0', 'nud', 'permanent']);
      await ip(peer, ['neigh', 'replace', LINK_V6, 'lladdr', NODE_MAC[side], 'dev', 'eth0', 'nud', 'permanent']);
      await ip(peer, ['route', 'add', LINK_V4, 'dev', 'eth0', 'scope', 'link']);
      await ip(peer, ['route', 'add', 'default', 'via', LINK_V4, 'dev', 'eth0']);
      await ip(peer, ['-6', 'route', 'add', 'default', 'via', LINK_V6, 'dev', 'eth0']);
    }
    // Routed packets leave through sink into the outside namespace, which forwards nothing.
    await ip(undefined, ['link', 'add', 'sink', 'netns', n.node, 'type', 'veth', 'peer', 'name', 'sink', 'netns', n.external]);
    await ip(n.external, ['link', 'set', 'sink', 'up']);
    await ip(n.node, ['link', 'set', 'sink', 'up']);
    await ip(n.node, ['route', 'add', 'default', 'dev', 'sink']);
    await ip(n.node, ['-6', 'route', 'add', 'default', 'dev', 'sink']);
    for (const a of o.nodeIPs) await n.addSource('node', a);
    return await fn(n);
  } finally {
    for (const ns of names) await execa('ip', ['netns', 'delete', ns], { reject: false });
  }
}
