// Comparing the kernel's tables with a fresh load, and the ClientIP affinity probes: a client address
// added by hand to every affinity set, as if a client had connected, that must outlive syncs.
import type { Listing } from './netns.ts';

export const PROBE = { ip: '10.0.0.9', ip6: 'fd00::9' } as const;

export interface AffinitySetInfo { key: string; family: 'ip' | 'ip6'; name: string; timeout: unknown }

/** The affinity sets (aff/...) of a listing, by listing key. */
export function affinitySets(listing: Listing): Map<string, AffinitySetInfo> {
  const out = new Map<string, AffinitySetInfo>();
  for (const [key, body] of Object.entries(listing)) {
    if (!key.startsWith('set ') || !body?.name?.startsWith('aff/')) continue;
    out.set(key, { key, family: body.family, name: body.name, timeout: body.timeout });
  }
  return out;
}

/** One transaction adding the probe client to each of the sets. */
export function probeScript(sets: Iterable<AffinitySetInfo>): string {
  let s = '';
  for (const set of sets) s += `add element ${set.family} sluice ${set.name} { ${PROBE[set.family]} }\n`;
  return s;
}

/**
 * The listing without the elements of affinity sets (a fresh load has none: only clients fill them),
 * which sets hold the probe, and any element in them that is not a probe (there must be none).
 */
export function withoutAffinityElements(listing: Listing): { listing: Listing; probed: Set<string>; strays: string[] } {
  const out: Listing = {};
  const probed = new Set<string>();
  const strays: string[] = [];
  const sets = affinitySets(listing);
  for (const [key, body] of Object.entries(listing)) {
    const set = sets.get(key);
    if (!set || !body.elem) {
      out[key] = body;
      continue;
    }
    const { elem, ...rest } = body;
    out[key] = rest;
    for (const e of elem as string[]) {
      if (e.includes(`"${PROBE[set.family]}"`)) probed.add(key);
      else strays.push(`${key}: ${e}`);
    }
  }
  return { listing: out, probed, strays };
}

const show = (v: unknown) => JSON.stringify(v);

/** What differs between two listings, one line per object; empty when they are equal. */
export function listingDifference(kernel: Listing, fresh: Listing): string[] {
  const lines: string[] = [];
  const keys = [...new Set([...Object.keys(kernel), ...Object.keys(fresh)])].sort();
  for (const k of keys) {
    const a = kernel[k], b = fresh[k];
    if (a === undefined) lines.push(`  missing in the kernel: ${k}: ${show(b)}`);
    else if (b === undefined) lines.push(`  extra in the kernel:   ${k}: ${show(a)}`);
    else if (show(a) !== show(b)) {
      if (Array.isArray(a.elem) || Array.isArray(b.elem)) {
        const inA = new Set<string>(a.elem ?? []), inB = new Set<string>(b.elem ?? []);
        const extra = [...inA].filter((e) => !inB.has(e)), missing = [...inB].filter((e) => !inA.has(e));
        const { elem: _a, ...ra } = a, { elem: _b, ...rb } = b;
        if (extra.length) lines.push(`  ${k}: elements extra in the kernel: ${extra.join(', ')}`);
        if (missing.length) lines.push(`  ${k}: elements missing in the kernel: ${missing.join(', ')}`);
        if (show(ra) !== show(rb)) lines.push(`  ${k}: kernel ${show(ra)}\n    fresh ${show(rb)}`);
      } else {
        lines.push(`  ${k}:\n    kernel ${show(a)}\n    fresh  ${show(b)}`);
      }
    }
  }
  return lines;
}
