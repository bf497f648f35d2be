// The source address of a traced packet when --src is not given: a pod of this node, the node
// itself, or a documentation address outside the cluster (RFC 5737 / RFC 3849).
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import { parseCIDR, parseIP } from '../model/ip.ts';
import type { Family, ProxyModel } from '../model/types.ts';
import type { FamilyRuleset } from '../nft/ir.ts';
import { TraceInputError, type Via } from './packet.ts';

export const EXTERNAL_SOURCE: Record<Family, string> = { 4: '203.0.113.1', 6: '2001:db8::1' };

export function defaultSource(via: Via, family: Family, model: ProxyModel, config: ProxyConfig, table: FamilyRuleset): string {
  const ofFamily = (a: string) => a.includes(':') === (family === 6);
  switch (via) {
    case 'external': return EXTERNAL_SOURCE[family];
    case 'node': {
      const ip = model.node.internalIPs.find(ofFamily);
      if (!ip) throw new TraceInputError(`node ${model.node.name} has no IPv${family} InternalIP to send from: give --src`);
      return ip;
    }
    case 'pod': {
      // This node's pod range first (where its pods live), then what pod detection matches, then clusterCIDR.
      const ranges = [
        ...model.node.podCIDRs.filter(ofFamily),
        ...(table.podSource.kind === 'cidr' ? [table.podSource.cidr] : []),
        ...table.elements['pod-ranges'].map((e) => String(e.key[0])),
        ...config.clusterCIDRs.filter((c) => c.family === family).map((c) => c.cidr),
      ];
      const endpoints = new Set(model.servicePorts.flatMap((sp) => sp.endpoints.map((e) => e.address)));
      for (const r of ranges) {
        const a = freeAddressIn(r, endpoints);
        if (a) return a;
      }
      throw new TraceInputError(`no IPv${family} pod range known (node podCIDRs, clusterCIDR): give --src`);
    }
  }
}

/** A host address in the range that no endpoint has, so the trace does not turn into hairpin by chance. */
function freeAddressIn(range: string, taken: Set<string>): string | undefined {
  const c = parseCIDR(range.includes('/') ? range : `${range}/${range.includes(':') ? 128 : 32}`);
  if (!c) return undefined;
  const base = parseIP(c.address)!.bytes;
  const hostBits = (c.family === 4 ? 32 : 128) - c.prefix;
  for (let n = 2; n < 64 && n < 2 ** Math.min(hostBits, 30) - 1; n++) {
    const bytes = [...base];
    let carry = n;
    for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
      const sum = bytes[i] + (carry & 0xff);
      bytes[i] = sum & 0xff;
      carry = (carry >> 8) + (sum >> 8);
    }
    const text = c.family === 4 ? bytes.join('.') : v6Text(bytes);
    const ip = parseIP(text)!;
    if (!taken.has(ip.address)) return ip.address;
  }
  return undefined;
}

function v6Text(bytes: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':');
}
