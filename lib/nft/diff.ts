// The difference between two rulesets as a transaction: only the elements, maps, sets and chains that
// changed. Applying it to a kernel that holds `from` leaves exactly `to`. A change of the masquerade
// mark reaches the base chains: the caller makes a full sync instead.
//
// The change becomes operations (lib/nft/operations.ts) that a Transaction orders as the kernel needs
// (lib/nft/transaction.ts). A counter that stays is never touched: its chains are rewritten around
// it and it keeps counting.
import { GLOBAL_SETS, TABLE_OWNED_SETS, type TablePart, type AffinitySet, type Chain, type Element, type EndpointMap, type FamilyRuleset, type GlobalSetName, type Rule, type Ruleset } from './ir.ts';

export interface ElementChange { set: string; elements: Element[] }

export interface TableChange {
  family: FamilyRuleset['family'];
  /** Elements leaving sets and maps (global or per service); done first, so nothing still points at a chain about to go. */
  elementsRemoved: ElementChange[];
  /** Chains added or rewritten, in the order the new ruleset defines them; `existed` ones are flushed first. */
  chainsWritten: { chain: Chain; existed: boolean }[];
  /** Chains that go, in an order where a chain comes before the chains it goes to. */
  chainsRemoved: string[];
  /** Maps and sets that go, or are made anew (their definition changed): deleted before anything is added. */
  mapsRemoved: string[];
  setsRemoved: string[];
  mapsAdded: EndpointMap[];
  setsAdded: AffinitySet[];
  /** Named counters that go (after every rule naming them is flushed) and that come (before the rules that name them). */
  countersRemoved: string[];
  countersAdded: string[];
  elementsAdded: ElementChange[];
}

/** What a sync must send: the changes of some tables, or their full sync (and why). */
export type RulesetChange = { kind: 'partial'; tables: TableChange[] } | { kind: 'full'; reason: string };

export function elementKey(e: Element): string {
  return e.key.join(' . ');
}

function elementValue(e: Element): string {
  return e.goto !== undefined ? `goto ${e.goto}` : e.value ? e.value.join(' . ') : '';
}

function diffElements(set: string, from: readonly Element[], to: readonly Element[], removed: ElementChange[], added: ElementChange[]) {
  if (from === to) return;
  // The table's own sets are made anew at every sync, of element objects kept from sync to sync.
  if (from.length === to.length && from.every((e, i) => e === to[i])) return;
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

/** The named sets and maps a rule looks up or updates. */
export function referencesOf(r: Rule): string[] {
  switch (r.op) {
    case 'affinity-goto':
    case 'affinity-update': return [r.set];
    case 'dnat-random':
    case 'dnat-hash': return [r.map];
    default: return [];
  }
}

export function diffTable(from: FamilyRuleset, to: FamilyRuleset): TableChange {
  const change: TableChange = {
    family: to.family, elementsRemoved: [], chainsWritten: [], chainsRemoved: [], mapsRemoved: [], setsRemoved: [],
    mapsAdded: [], setsAdded: [], countersRemoved: [], countersAdded: [], elementsAdded: [],
  };
  if (from === to) return change;
  // A new pod match (another pod CIDR, detectLocalMode) is in the rules that use it (lib/nft/ir.ts):
  // their service ports are planned again, and their chains compare unequal.
  if (to.delta && to.delta.base.deref() === from) {
    // Planned from `from`: only what the planner changed is looked at, not one part or element more.
    for (const s of TABLE_OWNED_SETS) {
      const gone = to.delta.ownRemoved[s] ?? [], come = to.delta.ownAdded[s] ?? [];
      if (gone.length) change.elementsRemoved.push({ set: s, elements: gone });
      if (come.length) change.elementsAdded.push({ set: s, elements: come });
    }
    for (const { before, after } of to.delta.parts.values()) if (before !== after) diffParts(before ?? NO_PART, after ?? NO_PART, change);
    return mergeElementChanges(change);
  }
  if (from.parts && to.parts && from.ownElements && to.ownElements) {
    // Both as planned: only the service ports whose part changed are compared, whatever the table's size.
    for (const s of TABLE_OWNED_SETS) diffElements(s, from.ownElements[s], to.ownElements[s], change.elementsRemoved, change.elementsAdded);
    for (const [key, part] of to.parts) {
      const old = from.parts.get(key);
      if (old !== part) diffParts(old ?? NO_PART, part, change);
    }
    for (const [key, old] of from.parts) if (!to.parts.has(key)) diffParts(old, NO_PART, change);
    return mergeElementChanges(change);
  }
  for (const s of GLOBAL_SETS) diffElements(s, from.elements[s], to.elements[s], change.elementsRemoved, change.elementsAdded);
  diffParts(wholeTable(from), wholeTable(to), change);
  return change;
}

const NO_PART: TablePart = { elements: {}, endpointMaps: [], affinitySets: [], counters: [], endpointChains: [], serviceChains: [], externalChains: [] };

/** A table read back from the kernel (sluice diff) has no parts: it is compared as one. */
function wholeTable(t: FamilyRuleset): TablePart {
  return { elements: {}, endpointMaps: t.endpointMaps, affinitySets: t.affinitySets, counters: t.counters ?? [], endpointChains: t.chains, serviceChains: [], externalChains: [] };
}

/** Several changed parts touch one shared set: one statement per set reads better and costs nft less. */
function mergeElementChanges(change: TableChange): TableChange {
  const merge = (list: ElementChange[]) => {
    const bySet = new Map<string, Element[]>();
    for (const c of list) {
      const els = bySet.get(c.set);
      if (els) els.push(...c.elements); else bySet.set(c.set, [...c.elements]);
    }
    return [...bySet].map(([set, elements]) => ({ set, elements }));
  };
  change.elementsRemoved = merge(change.elementsRemoved);
  change.elementsAdded = merge(change.elementsAdded);
  return change;
}

/** What turns one part (a service port's, or a whole table's) into another. */
function diffParts(from: TablePart, to: TablePart, change: TableChange) {
  for (const s of GLOBAL_SETS) {
    const a = from.elements[s], b = to.elements[s];
    if (a || b) diffElements(s, a ?? [], b ?? [], change.elementsRemoved, change.elementsAdded);
  }

  const oldMaps = new Map(from.endpointMaps.map((m) => [m.name, m]));
  const newMaps = new Map(to.endpointMaps.map((m) => [m.name, m]));
  for (const m of to.endpointMaps) {
    const old = oldMaps.get(m.name);
    if (old === m) continue;
    if (!old) change.mapsAdded.push(m);
    else diffElements(m.name, old.elements, m.elements, change.elementsRemoved, change.elementsAdded);
  }
  for (const m of from.endpointMaps) if (!newMaps.has(m.name)) change.mapsRemoved.push(m.name);

  // A set whose definition changed is made anew (its clients start over): `add set` over it would keep
  // the old timeout on some kernels (5.10), and it cannot be deleted while a rule refers to it.
  const remade = new Set<string>();
  const oldSets = new Map(from.affinitySets.map((s) => [s.name, s]));
  const newSets = new Set(to.affinitySets.map((s) => s.name));
  for (const s of to.affinitySets) {
    const old = oldSets.get(s.name);
    if (!old) change.setsAdded.push(s);
    else if (old.timeout !== s.timeout) {
      remade.add(s.name);
      change.setsRemoved.push(s.name);
      change.setsAdded.push(s);
    }
  }
  for (const s of from.affinitySets) if (!newSets.has(s.name)) change.setsRemoved.push(s.name);
  diffCounters(from.counters, to.counters, change);

  const fromChains = [...from.endpointChains, ...from.serviceChains, ...from.externalChains];
  const toChains = [...to.endpointChains, ...to.serviceChains, ...to.externalChains];
  const oldChains = new Map(fromChains.map((c) => [c.name, c]));
  const newChains = new Set(toChains.map((c) => c.name));
  for (const c of toChains) {
    const old = oldChains.get(c.name);
    const mustRewrite = remade.size > 0 && c.rules.some((r) => referencesOf(r).some((n) => remade.has(n)));
    // Unchanged service ports keep their chain objects from sync to sync: most chains compare by identity.
    if (old === c && !mustRewrite) continue;
    if (!old || mustRewrite || rulesOf(old) !== rulesOf(c)) change.chainsWritten.push({ chain: c, existed: old !== undefined });
  }
  // Removed chains go in reverse definition order: a chain goes before the chains it goes to.
  for (const c of [...fromChains].reverse()) if (!newChains.has(c.name)) change.chainsRemoved.push(c.name);
}

/** Counters are kept by name: one is added or deleted only when its service port or endpoint comes or goes. */
function diffCounters(from: readonly string[], to: readonly string[], change: TableChange) {
  if (from === to || (from.length === 0 && to.length === 0)) return;
  const before = new Set(from), after = new Set(to);
  for (const n of to) if (!before.has(n)) change.countersAdded.push(n);
  for (const n of from) if (!after.has(n)) change.countersRemoved.push(n);
}

/** Why a partial transaction cannot turn one table into the other: the masquerade mark, in the base chains too, moved. */
export function skeletonChange(from: FamilyRuleset, to: FamilyRuleset): string | undefined {
  if (from.mark !== to.mark) return 'the masquerade mark changed';
  return undefined;
}

/** What to send to turn `from` into `to`; `full` when only a full sync can do it. */
export function diffRulesets(from: Ruleset | undefined, to: Ruleset): RulesetChange {
  if (!from) return { kind: 'full', reason: 'nothing applied yet' };
  const tables: TableChange[] = [];
  for (const t of to.tables) {
    const f = from.tables.find((x) => x.family === t.family);
    if (!f) return { kind: 'full', reason: `no ${t.family} table applied yet` };
    const skeleton = skeletonChange(f, t);
    if (skeleton) return { kind: 'full', reason: skeleton };
    tables.push(diffTable(f, t));
  }
  return { kind: 'partial', tables: tables.filter((c) => !isEmptyChange(c)) };
}

export function isEmptyChange(c: TableChange): boolean {
  return c.elementsRemoved.length + c.mapsAdded.length + c.setsAdded.length + c.chainsWritten.length + c.elementsAdded.length
    + c.chainsRemoved.length + c.mapsRemoved.length + c.setsRemoved.length + (c.countersAdded?.length ?? 0) + (c.countersRemoved?.length ?? 0) === 0;
}

export function isEmptyTransaction(t: RulesetChange): boolean {
  return t.kind === 'partial' && t.tables.length === 0;
}

export type { GlobalSetName };
