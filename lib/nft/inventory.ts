// What one of sluice's tables holds, by name: its chains, maps and sets, and each affinity set's
// timeout. A full sync needs it to delete what the wanted ruleset no longer has and to keep what
// holds state. It comes from the ruleset sluice applied last, or, when that is not known (a new
// process over tables an earlier one wrote, a table made anew by someone else), from the kernel.
import { GLOBAL_SETS, type FamilyRuleset, type GlobalSetName, type TableFamily } from './ir.ts';
import { GLOBAL_MAPS, SKELETON_CHAINS, SKELETON_SETS } from './skeleton.ts';

export interface TableInventory {
  chains: Set<string>;
  /** Maps and sets by name; for sets with a timeout (affinity), the timeout in seconds. */
  maps: Set<string>;
  sets: Map<string, number | undefined>;
  /** Named counters (absent: none known). A full sync keeps those still wanted, with their counts. */
  counters?: Set<string>;
}

export function inventoryOf(t: FamilyRuleset): TableInventory {
  const sets = new Map<string, number | undefined>();
  const maps = new Set<string>();
  for (const s of SKELETON_SETS) if (GLOBAL_MAPS.has(s)) maps.add(s); else sets.set(s, undefined);
  for (const m of t.endpointMaps) maps.add(m.name);
  for (const s of t.affinitySets) sets.set(s.name, s.timeout);
  return { chains: new Set([...SKELETON_CHAINS, ...t.chains.map((c) => c.name)]), maps, sets, counters: new Set(t.counters ?? []) };
}

type Json = any;

/** The inventory of `<family> sluice` from `nft -j list chains|sets|maps|counters <family>` output; undefined when there is no such table. */
export function parseInventory(listings: string[], family: TableFamily): TableInventory | undefined {
  const inv: TableInventory = { chains: new Set(), maps: new Set(), sets: new Map(), counters: new Set() };
  let found = false;
  for (const text of listings) {
    for (const item of (JSON.parse(text) as { nftables: Json[] }).nftables) {
      const [kind, body] = Object.entries(item)[0] as [string, Json];
      if (body?.family !== family || body.table !== 'sluice') continue;
      found = true;
      if (kind === 'chain') inv.chains.add(body.name);
      else if (kind === 'map') inv.maps.add(body.name);
      else if (kind === 'set') inv.sets.set(body.name, typeof body.timeout === 'number' ? body.timeout : undefined);
      else if (kind === 'counter') inv.counters!.add(body.name);
    }
  }
  return found ? inv : undefined;
}

export interface FullSyncPrologue {
  family: TableFamily;
  flushSets: string[];
  flushMaps: string[];
  deleteChains: string[];
  deleteMaps: string[];
  deleteSets: string[];
  /** Counters no longer wanted; wanted ones are declared again by the table, which keeps their counts. */
  deleteCounters: string[];
}

/**
 * What a full sync does to the table that exists before it writes the wanted one (as operations: lib/nft/operations.ts).
 * Affinity sets that stay with the same timeout are neither flushed nor deleted: their clients stay;
 * nor are named counters that stay (`flush table` leaves counters alone, and declaring one that exists
 * keeps its count: measured, kernel 6.18).
 */
export function fullSyncPrologue(want: FamilyRuleset, existing: TableInventory): FullSyncPrologue {
  const wanted = inventoryOf(want);
  const stateful = new Set(want.affinitySets.map((s) => s.name));
  const p: FullSyncPrologue = { family: want.family, flushSets: [], flushMaps: [], deleteChains: [], deleteMaps: [], deleteSets: [], deleteCounters: [] };
  for (const name of existing.maps) (wanted.maps.has(name) ? p.flushMaps : p.deleteMaps).push(name);
  for (const [name, timeout] of existing.sets) {
    if (!wanted.sets.has(name) || wanted.sets.get(name) !== timeout) p.deleteSets.push(name);
    else if (!stateful.has(name)) p.flushSets.push(name);
  }
  for (const name of existing.chains) if (!wanted.chains.has(name)) p.deleteChains.push(name);
  for (const name of existing.counters ?? []) if (!wanted.counters!.has(name)) p.deleteCounters.push(name);
  return p;
}

export const isGlobalSet = (name: string): name is GlobalSetName => (GLOBAL_SETS as readonly string[]).includes(name);
