// Reads this node's Node object: its InternalIP addresses and pod CIDRs.
import type { KubeObject } from '../k8s/objects.ts';
import { parseCIDR, parseIP } from './ip.ts';
import { invalid } from './problems.ts';
import { show } from './validate.ts';
import type { NodeFacts } from './types.ts';

export function readNode(name: string, obj: KubeObject | undefined): NodeFacts {
  if (!obj) return { name, known: false, internalIPs: [], podCIDRs: [] };
  const addresses = obj.status?.addresses ?? [];
  if (!Array.isArray(addresses)) invalid('invalid-addresses', 'status.addresses is not a list');
  const internalIPs: string[] = [];
  addresses.forEach((a: any, i: number) => {
    if (a?.type !== 'InternalIP') return;
    const ip = parseIP(a.address) ?? invalid('invalid-node-address', `status.addresses[${i}].address ${show(a.address)} is not an IP address`);
    if (!internalIPs.includes(ip.address)) internalIPs.push(ip.address);
  });
  const rawCIDRs: unknown[] = Array.isArray(obj.spec?.podCIDRs) ? obj.spec.podCIDRs : obj.spec?.podCIDR ? [obj.spec.podCIDR] : [];
  const podCIDRs = rawCIDRs.map((c, i) => parseCIDR(c)?.cidr ?? invalid('invalid-pod-cidr', `spec.podCIDRs[${i}] ${show(c)} is not a CIDR`));
  return { name, known: true, internalIPs, podCIDRs };
}
