// The fake's kernel: tables of chains (rules as text with their references), sets and maps (elements
// by key), named counters. Handles as the kernel gives them: tables from one count, everything in a
// table (chains, counters, sets, rules) from the table's own, which starts again in a table made anew.
import type { BaseChain, RuleText, SetDef } from './parse.ts';

export interface ElementState { parts: string[]; value?: string; chain?: string }
export interface SetState { kind: 'set' | 'map'; def: SetDef; elements: Map<string, ElementState>; handle: number }
export interface ChainState { base?: BaseChain; rules: RuleText[]; handle: number }
export interface TableState {
  family: string;
  name: string;
  handle: number;
  chains: Map<string, ChainState>;
  sets: Map<string, SetState>;
  counters: Map<string, { handle: number }>;
  lastHandle: number;
}

/** The next handle of an object in the table (a rule's too: it takes one). */
export const nextHandle = (t: TableState) => ++t.lastHandle;

export class NftState {
  tables = new Map<string, TableState>();
  private lastHandle = 0;

  nextTableHandle(): number {
    return ++this.lastHandle;
  }

  table(family: string, name: string): TableState | undefined {
    return this.tables.get(`${family} ${name}`);
  }

  /** A copy to change: the transaction works on it and replaces the state only when all of it is accepted. */
  clone(): NftState {
    const c = new NftState();
    c.lastHandle = this.lastHandle;
    for (const [k, t] of this.tables) {
      c.tables.set(k, {
        ...t,
        chains: new Map([...t.chains].map(([n, ch]) => [n, { ...ch, rules: [...ch.rules] }])),
        sets: new Map([...t.sets].map(([n, s]) => [n, { ...s, elements: new Map(s.elements) }])),
        counters: new Map(t.counters),
      });
    }
    return c;
  }
}

/** What the comparison with the kernel looks at, per object: "chain ip sluice services", "map ...", "counter ...". */
export type StateSummary = Record<string, ChainSummary | SetSummary | Record<string, never>>;
export interface ChainSummary { rules: number; refs: string[]; hook?: string }
export interface SetSummary { flags: string[]; timeout?: number; elements: string[] }

export const elementText = (e: ElementState) => e.parts.join(' . ') + (e.value !== undefined ? ` : ${e.value}` : '');

export function summarize(state: NftState): StateSummary {
  const out: StateSummary = {};
  for (const t of state.tables.values()) {
    const id = (kind: string, name: string) => `${kind} ${t.family} ${t.name} ${name}`;
    out[`table ${t.family} ${t.name}`] = {};
    for (const [name, c] of t.chains) {
      const refs = c.rules.flatMap((r) => [...r.refs.sets.map((s) => `@${s}`), ...r.refs.chains.map((n) => `-> ${n}`), ...r.refs.counters.map((n) => `counter ${n}`)]);
      out[id('chain', name)] = { rules: c.rules.length, refs: refs.sort(), ...(c.base ? { hook: c.base.hook } : {}) };
    }
    for (const [name, s] of t.sets) {
      out[id(s.kind, name)] = { flags: s.def.flags, ...(s.def.timeout !== undefined ? { timeout: s.def.timeout } : {}), elements: [...s.elements.values()].map(elementText).sort() };
    }
    for (const name of t.counters.keys()) out[id('counter', name)] = {};
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}
