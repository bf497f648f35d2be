import { cidrContains, compareAddresses, parseCIDR, parseIP } from '../model/ip.ts';
import type { Element } from '../nft/ir.ts';

function compareParts(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a), sb = String(b);
  const ipa = sa.split('/')[0], ipb = sb.split('/')[0];
  const byAddress = /[.:]/.test(ipa) && /[.:]/.test(ipb) ? compareAddresses(ipa, ipb) : 0;
  if (byAddress !== 0) return byAddress;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Orders elements by their key parts: addresses numerically, numbers numerically, the rest by text. */
export function compareElements(a: Element, b: Element): number {
  for (let i = 0; i < Math.min(a.key.length, b.key.length); i++) {
    const c = compareParts(a.key[i], b.key[i]);
    if (c !== 0) return c;
  }
  return a.key.length - b.key.length;
}

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
