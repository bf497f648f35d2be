// The difference between two rulesets as a transaction: only the elements, maps, sets and chains that
// changed. Applying it to a kernel that holds `from` leaves exactly `to`. A change to the skeleton
// (mark, pod detection) cannot be expressed this way: the caller replaces the tables instead.
import { GLOBAL_SETS, type AffinitySet, type Chain, type Element, type EndpointMap, type FamilyRuleset, type GlobalSetName, type Ruleset } from './ir.ts';

export interface ElementChange { set: string; elements: Element[] }

export interface TableChange {
  family: FamilyRuleset['family'];
  /** Elements leaving sets and maps (global or per service); done first, so nothing still points at a chain about to go. */
  elementsRemoved: ElementChange[];
  mapsAdded: EndpointMap[];
  setsAdded: AffinitySet[];
  /** Chains added or rewritten, in the order the new ruleset defines them. */
  chainsWritten: { chain: Chain; existed: boolean }[];
  elementsAdded: ElementChange[];
  chainsRemoved: string[];
  mapsRemoved: string[];
  setsRemoved: string[];
}

export type Transaction = { kind: 'partial'; tables: TableChange[] } | { kind: 'full'; reason: string };

export function elementKey(e: Element): string {
  return e.key.join(' . ');
}

function elementValue(e: Element): string {
  return e.goto !== undefined ? `goto ${e.goto}` : e.value ? e.value.join(' . ') : '';
}

function diffElements(set: string, from: readonly Element[], to: readonly Element[], removed: ElementChange[], added: ElementChange[]) {
  if (from === to) return;
  // Elements of unchanged service ports are the same objects in both: only the others need comparing.
  const inFrom = new Set(from), inTo = new Set(to);
  const before = new Map(from.filter((e) => !inTo.has(e)).map((e) => [elementKey(e), e]));
  const after = new Map(to.filter((e) => !inFrom.has(e)).map((e) => [elementKey(e), e]));
  const gone: Element[] = [];
  const come: Element[] = [];
  for (const [k, e] of before) {
    const now = after.get(k);
    if (!now || elementValue(now) !== elementValue(e)) gone.push(e);
  }
  for (const [k, e] of after) {
    const was = before.get(k);
    if (!was || elementValue(was) !== elementValue(e)) come.push(e);
  }
  if (gone.length) removed.push({ set, elements: gone });
  if (come.length) added.push({ set, elements: come });
}

const rulesOf = (c: Chain) => JSON.stringify(c.rules);

function diffTable(from: FamilyRuleset, to: FamilyRuleset): TableChange {
  const change: TableChange = {
    family: to.family, elementsRemoved: [], mapsAdded: [], setsAdded: [], chainsWritten: [], elementsAdded: [],
    chainsRemoved: [], mapsRemoved: [], setsRemoved: [],
  };
  for (const s of GLOBAL_SETS) diffElements(s, from.elements[s], to.elements[s], change.elementsRemoved, change.elementsAdded);

  const oldMaps = new Map(from.endpointMaps.map((m) => [m.name, m]));
  const newMaps = new Map(to.endpointMaps.map((m) => [m.name, m]));
  for (const m of to.endpointMaps) {
    const old = oldMaps.get(m.name);
    if (old === m) continue;
    if (!old) change.mapsAdded.push(m);
    else diffElements(m.name, old.elements, m.elements, change.elementsRemoved, change.elementsAdded);
  }
  for (const m of from.endpointMaps) if (!newMaps.has(m.name)) change.mapsRemoved.push(m.name);

  const oldSets = new Map(from.affinitySets.map((s) => [s.name, s]));
  const newSets = new Map(to.affinitySets.map((s) => [s.name, s]));
  for (const s of to.affinitySets) {
    const old = oldSets.get(s.name);
    if (!old) change.setsAdded.push(s);
    else if (old.timeout !== s.timeout) {
      // A set's timeout cannot be changed in place: the set is made anew (its clients start over).
      change.setsRemoved.push(s.name);
      change.setsAdded.push(s);
    }
  }
  for (const s of from.affinitySets) if (!newSets.has(s.name)) change.setsRemoved.push(s.name);

  const oldChains = new Map(from.chains.map((c) => [c.name, c]));
  const newChains = new Set(to.chains.map((c) => c.name));
  for (const c of to.chains) {
    const old = oldChains.get(c.name);
    // Unchanged service ports keep their chain objects from sync to sync: most chains compare by identity.
    if (old === c) continue;
    if (!old || rulesOf(old) !== rulesOf(c)) change.chainsWritten.push({ chain: c, existed: old !== undefined });
  }
  // Removed chains go in reverse definition order: a chain goes before the chains it goes to.
  for (const c of [...from.chains].reverse()) if (!newChains.has(c.name)) change.chainsRemoved.push(c.name);
  return change;
}

/** What to send to turn `from` into `to`; `full` when only replacing the tables can do it. */
export function diffRulesets(from: Ruleset | undefined, to: Ruleset): Transaction {
  if (!from) return { kind: 'full', reason: 'nothing applied yet' };
  const tables: TableChange[] = [];
  for (const t of to.tables) {
    const f = from.tables.find((x) => x.family === t.family);
    if (!f) return { kind: 'full', reason: `no ${t.family} table applied yet` };
    if (f.mark !== t.mark || JSON.stringify(f.podSource) !== JSON.stringify(t.podSource)) {
      return { kind: 'full', reason: 'the configuration changed' };
    }
    tables.push(diffTable(f, t));
  }
  return { kind: 'partial', tables: tables.filter((c) => !isEmptyChange(c)) };
}

function isEmptyChange(c: TableChange): boolean {
  return c.elementsRemoved.length + c.mapsAdded.length + c.setsAdded.length + c.chainsWritten.length + c.elementsAdded.length
    + c.chainsRemoved.length + c.mapsRemoved.length + c.setsRemoved.length === 0;
}

export function isEmptyTransaction(t: Transaction): boolean {
  return t.kind === 'partial' && t.tables.length === 0;
}

export type { GlobalSetName };
