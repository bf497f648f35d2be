// Reads a ServiceCIDR (networking.k8s.io/v1, cluster-scoped): the ranges cluster IPs are allocated
// from. kube-proxy takes every ServiceCIDR's spec.cidrs, whatever its status says (one being deleted
// still has Services in it until it is gone): pkg/proxy/config ServiceCIDRConfig.
import type { KubeObject } from '../objects/objects.ts';
import { parseCIDR, parseIP, sortKeyOf, type ParsedCIDR } from './ip.ts';
import { invalid } from './problems.ts';
import { isDNS1123Subdomain, show } from './validate.ts';

/** The CIDRs of one ServiceCIDR, validated as the API server does: one or two, at most one per family. */
export function readServiceCIDR(obj: KubeObject): ParsedCIDR[] {
  const name = obj.metadata?.name;
  if (!isDNS1123Subdomain(name)) invalid('invalid-name', `metadata.name ${show(name)} is not a valid object name`);
  const raw = obj.spec?.cidrs;
  if (!Array.isArray(raw) || raw.length === 0) invalid('invalid-cidrs', 'spec.cidrs is empty');
  if (raw.length > 2) invalid('invalid-cidrs', 'spec.cidrs has more than two CIDRs');
  const cidrs = raw.map((v: unknown, i: number) => parseCIDR(v) ?? invalid('invalid-cidr', `spec.cidrs[${i}] ${show(v)} is not a CIDR`));
  if (cidrs.length === 2 && cidrs[0].family === cidrs[1].family) invalid('invalid-cidrs', 'spec.cidrs has two CIDRs of one IP family');
  return cidrs;
}

/** Both families' CIDRs once each, in a fixed order: IPv4 before IPv6, then by address, the wider first. */
export function sortCIDRs(cidrs: Iterable<ParsedCIDR>): string[] {
  const keyed = new Map<string, string>();
  for (const c of cidrs) keyed.set(c.cidr, `${sortKeyOf(parseIP(c.address)!)}/${String(c.prefix).padStart(3, '0')}`);
  return [...keyed].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([cidr]) => cidr);
}
