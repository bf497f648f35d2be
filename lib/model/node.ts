// Reads this node's Node object: its InternalIP addresses, pod CIDRs and zone.
import type { KubeObject } from '../objects/objects.ts';
import { parseCIDR, parseIP } from './ip.ts';
import { invalid } from './problems.ts';
import { isLabelValue, ZONE_LABEL } from './topology.ts';
import { show } from './validate.ts';
import type { NodeFacts } from './types.ts';

/** A field of the Node that failed validation and is treated as absent; the rest of the Node is used. */
export interface IgnoredField { reason: string; message: string }

export interface NodeReading {
  facts: NodeFacts;
  ignored: IgnoredField[];
}

export function readNode(name: string, obj: KubeObject | undefined): NodeReading {
  if (!obj) return { facts: { name, known: false, internalIPs: [], podCIDRs: [] }, ignored: [] };
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
  const facts: NodeFacts = { name, known: true, internalIPs, podCIDRs };
  const ignored: IgnoredField[] = [];
  // A bad zone costs topology only (zone hints unused), not the node's addresses and CIDRs.
  const zone = obj.metadata?.labels?.[ZONE_LABEL];
  if (zone === undefined || zone === '') {
    // kube-proxy treats an empty zone as none.
  } else if (isLabelValue(zone)) {
    facts.zone = zone;
  } else {
    ignored.push({ reason: 'invalid-zone-label', message: `label ${ZONE_LABEL} ${show(zone)} is not a valid label value: zone hints are not used` });
  }
  return { facts, ignored };
}
