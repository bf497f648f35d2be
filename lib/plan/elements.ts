import { sortBy } from '../model/build.ts';
import { addressSortKey, cidrContains, parseCIDR, parseIP } from '../model/ip.ts';
import type { Element } from '../nft/ir.ts';

function partKey(p: string | number): string {
  if (typeof p === 'number') return '0' + String(p).padStart(10, '0');
  const slash = p.indexOf('/');
  const address = slash < 0 ? p : p.slice(0, slash);
  if (/[.:]/.test(address)) return '1' + addressSortKey(address) + (slash < 0 ? '' : '/' + p.slice(slash + 1).padStart(3, '0'));
  return '2' + p;
}

// Elements of unchanged service ports are the same objects sync after sync: their keys are made once.
const sortKeys = new WeakMap<Element, string>();

function sortKey(e: Element): string {
  let k = sortKeys.get(e);
  if (k === undefined) {
    k = e.key.map(partKey).join(' ');
    sortKeys.set(e, k);
  }
  return k;
}

/** Sorts elements by their key parts: addresses numerically, numbers numerically, the rest by text. */
export function sortElements(elements: Element[]): Element[] {
  return sortBy(elements, sortKey);
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

/** A CIDR as an interval-set element, written as nft lists it: a single address without its /32 or /128. */
export function intervalElement(cidr: string): string {
  return cidr.endsWith('/32') || cidr.endsWith('/128') ? cidr.slice(0, cidr.lastIndexOf('/')) : cidr;
}
