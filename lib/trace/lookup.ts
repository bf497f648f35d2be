// Set and map lookups as nft does them on the ruleset's elements: concatenated keys part by part,
// an address part of an interval set matching a range (`10.0.0.0/8`) or one address.
import { cidrContains, parseCIDR, parseIP } from '../model/ip.ts';
import type { Element } from '../nft/ir.ts';

function partMatches(part: string | number, value: string | number): boolean {
  if (typeof part === 'number' || typeof value === 'number') return part === value;
  const ip = parseIP(value);
  if (!ip) return part === value;
  if (part.includes('/')) {
    const c = parseCIDR(part);
    return c !== undefined && cidrContains(c, ip);
  }
  return parseIP(part)?.address === ip.address;
}

/** The first element whose key matches the values, part for part. */
export function lookup(elements: readonly Element[], ...values: (string | number)[]): Element | undefined {
  return elements.find((e) => e.key.length === values.length && e.key.every((p, i) => partMatches(p, values[i])));
}

/** An element as nft lists it: `10.96.0.1 . tcp . 80 : goto svc/...`. */
export function describeElement(e: Element): string {
  const key = e.key.join(' . ');
  if (e.goto) return `${key} : goto ${e.goto}`;
  return e.value ? `${key} : ${e.value.join(' . ')}` : key;
}
