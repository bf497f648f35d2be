// A transaction applied to the fake's state, refused where the kernel (6.18, nft 1.0.6) refuses it.
// Each rule below was found by experiment in a network namespace; its comment is what nft said.
// "Could not process rule: ..." is the kernel's answer; without that prefix, nft's own (it checks
// some things against its cache before sending anything).
import { canonicalPart, keysOverlap } from './intervals.ts';
import type { Command, ElementText, RuleText, Where } from './parse.ts';
import { nextHandle, NftState, type SetState, type TableState } from './state.ts';

export class Refusal extends Error {
  readonly at: Where;
  constructor(message: string, at: Where) {
    super(message);
    this.at = at;
  }
}

const ENOENT = 'No such file or directory';
const EBUSY = 'Device or resource busy';
const EEXIST = 'File exists';
const EINVAL = 'Invalid argument';
const EOPNOTSUPP = 'Operation not supported';
const kernel = (errno: string, at: Where) => new Refusal(`Could not process rule: ${errno}`, at);
const userspace = (message: string, at: Where) => new Refusal(message, at);

/** Who refers to a chain: goto/jump in rules and verdicts of map elements. */
function chainUsers(t: TableState, name: string): number {
  let n = 0;
  for (const c of t.chains.values()) for (const r of c.rules) n += r.refs.chains.filter((x) => x === name).length;
  for (const s of t.sets.values()) for (const e of s.elements.values()) if (e.chain === name) n++;
  return n;
}

const ruleUsers = (t: TableState, of: (r: RuleText) => string[], name: string) =>
  [...t.chains.values()].some((c) => c.rules.some((r) => of(r).includes(name)));

function checkRule(t: TableState, r: RuleText): void {
  // "Error: No such file or directory" (nft's cache): a rule looks up a set or map that is not there.
  for (const s of r.refs.sets) if (!t.sets.has(s)) throw userspace(ENOENT, r.at);
  // ENOENT: goto/jump to a chain that is not there (not even later in the same transaction).
  for (const c of r.refs.chains) if (!t.chains.has(c)) throw kernel(ENOENT, r.at);
  // ENOENT: `counter name "x"` with no counter x.
  for (const c of r.refs.counters) if (!t.counters.has(c)) throw kernel(ENOENT, r.at);
}

function addElements(t: TableState, s: SetState, els: ElementText[], create: boolean): void {
  const interval = s.def.flags.includes('interval');
  const added: string[][] = [];
  for (const e of els) {
    const parts = e.key.map(canonicalPart);
    const key = parts.join(' . ');
    // EINVAL: an element without a value in a map (or with one in a set).
    if ((s.kind === 'map') !== (e.value !== undefined)) throw kernel(EINVAL, e.at);
    // ENOENT: a verdict going to a chain that is not there.
    if (e.chain !== undefined && !t.chains.has(e.chain)) throw kernel(ENOENT, e.at);
    const old = s.elements.get(key);
    if (old) {
      // EEXIST: `create element` of a key there already, whatever its value.
      if (create) throw kernel(EEXIST, e.at);
      // EEXIST: `add element` of a key there with another value (the same value is accepted, no change).
      if (old.value !== e.value) throw kernel(EEXIST, e.at);
      continue;
    }
    if (interval) {
      const single = parts.length === 1;
      for (const other of added) {
        // "Error: conflicting intervals specified" (nft): overlapping intervals in one statement, one field.
        // EEXIST with several fields (concatenations): the kernel's set finds the overlap.
        if (other.join(' . ') !== key && keysOverlap(other, parts)) throw single ? userspace('conflicting intervals specified', e.at) : kernel(EEXIST, e.at);
      }
      for (const other of s.elements.values()) {
        // "Error: interval overlaps with an existing one" (nft), or EEXIST for concatenations.
        if (keysOverlap(other.parts, parts)) throw single ? userspace('interval overlaps with an existing one', e.at) : kernel(EEXIST, e.at);
      }
    }
    added.push(parts);
    s.elements.set(key, { parts, value: e.value, chain: e.chain });
  }
}

function tableOf(st: NftState, c: { family: string; table: string; at: Where }): TableState {
  const t = st.table(c.family, c.table);
  // ENOENT: anything in a table that is not there.
  if (!t) throw kernel(ENOENT, c.at);
  return t;
}

function applyOne(st: NftState, c: Command): void {
  if (c.what === 'ruleset') return void st.tables.clear();
  if (c.what === 'table') {
    const t = st.table(c.family, c.table);
    if (c.verb === 'add' || c.verb === 'create') {
      // EEXIST: `create table` of a table there already (`add table` is accepted and changes nothing).
      if (t && c.verb === 'create') throw kernel(EEXIST, c.at);
      if (!t) st.tables.set(`${c.family} ${c.table}`, { family: c.family, name: c.table, handle: st.nextTableHandle(), chains: new Map(), sets: new Map(), counters: new Map(), lastHandle: 0 });
      return;
    }
    // ENOENT: delete or flush of a table that is not there.
    if (!t) throw kernel(ENOENT, c.at);
    // A table is deleted with everything in it, whatever refers to what inside it.
    if (c.verb === 'delete') st.tables.delete(`${c.family} ${c.table}`);
    // `flush table`: every chain loses its rules; sets, maps and their elements, and counters stay.
    else for (const ch of t.chains.values()) ch.rules = [];
    return;
  }
  const t = tableOf(st, c);
  switch (c.what) {
    case 'chain': {
      const ch = t.chains.get(c.name);
      if (c.verb === 'add' || c.verb === 'create') {
        // EEXIST: `create chain` of a chain there already (`add chain` is accepted and adds its rules).
        if (ch && c.verb === 'create') throw kernel(EEXIST, c.at);
        // EOPNOTSUPP: a regular chain declared again as a base chain (or another hook or type).
        if (ch && c.base && (!ch.base || ch.base.hook !== c.base.hook || ch.base.type !== c.base.type)) throw kernel(EOPNOTSUPP, c.at);
        const chain = ch ?? { base: c.base, rules: [], handle: nextHandle(t) };
        if (ch && c.base?.policy) chain.base = { ...ch.base!, policy: c.base.policy };
        t.chains.set(c.name, chain);
        for (const r of c.rules ?? []) {
          checkRule(t, r);
          nextHandle(t);
          chain.rules.push(r);
        }
        return;
      }
      // ENOENT: delete or flush of a chain that is not there.
      if (!ch) throw kernel(ENOENT, c.at);
      if (c.verb === 'flush') return void (ch.rules = []);
      // EBUSY: a chain still gone to by a rule (goto, jump, an inline vmap) or a verdict map's element.
      // A chain that still has rules is deleted with them (accepted on 6.18).
      if (chainUsers(t, c.name) > 0) throw kernel(EBUSY, c.at);
      t.chains.delete(c.name);
      return;
    }
    case 'set': {
      const s = t.sets.get(c.name);
      if (c.verb === 'add' || c.verb === 'create') {
        // EEXIST: `create set|map` of one there already.
        if (s && c.verb === 'create') throw kernel(EEXIST, c.at);
        // EEXIST: `add set|map` over one of another type or flags. Another timeout is accepted and
        // replaces the old one (6.18; 5.10 keeps the old, lib/nft/diff.ts).
        if (s && (s.kind !== c.kind || s.def.type !== c.def!.type || s.def.flags.join() !== c.def!.flags.join())) throw kernel(EEXIST, c.at);
        const set = s ?? { kind: c.kind, def: c.def!, elements: new Map(), handle: nextHandle(t) };
        if (s && c.def!.timeout !== undefined) set.def = { ...s.def, timeout: c.def!.timeout };
        t.sets.set(c.name, set);
        if (c.elements) addElements(t, set, c.elements, false);
        return;
      }
      if (c.verb === 'flush') {
        // "Error: No such file or directory" (nft): flush of a set or map that is not there, or `flush set` of a map.
        if (!s || s.kind !== c.kind) throw userspace(ENOENT, c.at);
        return void s.elements.clear();
      }
      // ENOENT: delete of a set or map that is not there (`delete set` of a map works: the kernel has only sets).
      if (!s) throw kernel(ENOENT, c.at);
      // EBUSY: a set or map a rule still looks up or updates.
      if (ruleUsers(t, (r) => r.refs.sets, c.name)) throw kernel(EBUSY, c.at);
      t.sets.delete(c.name);
      return;
    }
    case 'counter': {
      const has = t.counters.has(c.name);
      if (c.verb === 'add' || c.verb === 'create') {
        // EEXIST: `create counter` of one there already (`add counter` keeps it and its count).
        if (has && c.verb === 'create') throw kernel(EEXIST, c.at);
        if (!has) t.counters.set(c.name, { handle: nextHandle(t) });
        return;
      }
      // ENOENT: delete of a counter that is not there.
      if (!has) throw kernel(ENOENT, c.at);
      // EBUSY: a counter a rule still names.
      if (ruleUsers(t, (r) => r.refs.counters, c.name)) throw kernel(EBUSY, c.at);
      t.counters.delete(c.name);
      return;
    }
    case 'element': {
      const s = t.sets.get(c.set);
      // "Error: No such file or directory" (nft): elements of a set or map that is not there.
      if (!s) throw userspace(ENOENT, c.at);
      if (c.verb === 'delete') {
        for (const e of c.elements) {
          const key = e.key.map(canonicalPart).join(' . ');
          // ENOENT: delete of an element that is not there (or deleted already in this transaction).
          if (!s.elements.delete(key)) throw kernel(ENOENT, e.at);
        }
        return;
      }
      return addElements(t, s, c.elements, c.verb === 'create');
    }
    case 'rule': {
      const ch = t.chains.get(c.chain);
      // ENOENT: a rule for a chain that is not there.
      if (!ch) throw kernel(ENOENT, c.at);
      checkRule(t, c.rule);
      nextHandle(t);
      if (c.verb === 'insert') ch.rules.unshift(c.rule);
      else ch.rules.push(c.rule);
      return;
    }
  }
}

/** The state after the transaction, or a Refusal (the given state is never changed). */
export function applyCommands(state: NftState, commands: Command[]): NftState {
  const next = state.clone();
  for (const c of commands) applyOne(next, c);
  return next;
}
