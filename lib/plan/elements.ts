import { cidrContains, parseCIDR, parseIP } from '../model/ip.ts';

/**
 * Drops addresses and ranges that another entry already covers: nft refuses overlapping elements in
 * an interval set, and a covered entry adds nothing.
 */
export function withoutCovered(entries: string[]): string[] {
  const asCIDR = (e: string) => parseCIDR(e.includes('/') ? e : `${e}/${e.includes(':') ? 128 : 32}`)!;
  const parsed = [...new Set(entries)].map((e) => ({ e, c: asCIDR(e) }));
  return parsed.filter(({ e, c }) => !parsed.some((o) => o.e !== e && o.c.prefix <= c.prefix
    && cidrContains(o.c, parseIP(c.address)!) && (o.c.prefix < c.prefix || o.e < e))).map(({ e }) => e);
}

/** A CIDR as an interval-set element, written as nft lists it: a single address without its /32 or /128. */
export function intervalElement(cidr: string): string {
  return cidr.endsWith('/32') || cidr.endsWith('/128') ? cidr.slice(0, cidr.lastIndexOf('/')) : cidr;
}
