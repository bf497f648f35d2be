// A transaction as typed operations: a verb on one nft object. The same Transaction is what a sync
// sends (rendered by lib/nft/templates.ts, one template per object kind), what a fake kernel can
// apply, and what tests read. It orders its operations as the kernel needs them, whatever order they
// were added in: nothing is deleted while something still refers to it, nothing is referred to before
// it exists.
import type { AffinitySet, Chain, Element, EndpointMap, Rule, SharedSet, TableFamily } from './ir.ts';

/**
 * add: make it, or leave it as it is when it exists. create: make it; the kernel refuses when it
 * exists. flush: empty it (a chain's rules, a set's elements, a table's rules). delete: remove it;
 * the kernel refuses when it is missing or in use. replace: make it anew, deleted early and added late
 * in the transaction (a set whose definition changed; a table whose every object is rewritten).
 */
export type Verb = 'add' | 'create' | 'flush' | 'delete' | 'replace';

/** An object inside a table block: sets and maps with their definition, chains with their rules. */
export type TableObject =
  | { kind: 'set'; set: SharedSet | AffinitySet }
  | { kind: 'map'; map: SharedSet | EndpointMap }
  | { kind: 'counter'; family: TableFamily; name: string }
  | { kind: 'chain'; chain: Chain };

export type ObjectKind = 'table' | 'chain' | 'set' | 'map' | 'counter';

export type Operation =
  /** A table; with `objects`, written as one block holding them. */
  | { verb: Verb; kind: 'table'; family: TableFamily; objects?: TableObject[] }
  | { verb: 'add' | 'create' | 'replace'; kind: 'set'; set: SharedSet | AffinitySet }
  | { verb: 'add' | 'create'; kind: 'map'; map: SharedSet | EndpointMap }
  | { verb: 'add' | 'create'; kind: 'counter'; family: TableFamily; name: string }
  /** A chain's declaration (and hook); its rules are operations of their own. */
  | { verb: 'add' | 'create'; kind: 'chain'; family: TableFamily; chain: Chain }
  | { verb: 'flush' | 'delete'; kind: Exclude<ObjectKind, 'table'>; family: TableFamily; name: string }
  | { verb: 'add'; kind: 'rule'; family: TableFamily; chain: string; rule: Rule }
  | { verb: 'add' | 'delete'; kind: 'element'; family: TableFamily; set: string; elements: Element[] };

/**
 * Where an operation goes in the kernel's order. A table made anew is emptied first; elements leave
 * sets and verdict maps before the chains they point at are flushed; chains are deleted once flushed
 * (rules refer to sets, maps and counters), then maps and sets, then counters; what is added comes
 * after every deletion, declarations before the rules that use them, and elements last (a verdict
 * map's element needs its chain).
 */
function phaseOf(op: Operation): number {
  switch (op.kind) {
    case 'table':
      if (op.objects) return 8;
      return op.verb === 'delete' ? 1 : op.verb === 'flush' ? 2 : 0;
    case 'element': return op.verb === 'delete' ? 3 : 10;
    case 'rule': return 9;
    default:
      switch (op.verb) {
        case 'flush': return op.kind === 'chain' ? 4 : 3;
        case 'delete': return op.kind === 'chain' ? 5 : op.kind === 'counter' ? 7 : 6;
        default: return 8;
      }
  }
}

/** `replace` as the kernel does it: a delete in the deletions' phase, an add in the additions'. */
function expand(op: Operation): Operation[] {
  if (op.verb !== 'replace') return [op];
  if (op.kind === 'table') {
    // Declared first, so the delete works whether the table was there or not.
    const made: Operation[] = [{ verb: 'add', kind: 'table', family: op.family }, { verb: 'delete', kind: 'table', family: op.family }];
    return op.objects ? [...made, { verb: 'add', kind: 'table', family: op.family, objects: op.objects }] : made;
  }
  if (op.kind === 'set') return [{ verb: 'delete', kind: 'set', family: op.set.family, name: op.set.name }, { verb: 'add', kind: 'set', set: op.set }];
  return [op];
}

export class Transaction {
  readonly #ops: { op: Operation; table: number; seq: number }[] = [];
  readonly #tables: TableFamily[] = [];

  /** Adds operations; their order among equals (same table, same phase) is kept. */
  push(...ops: Operation[]): this {
    for (const o of ops) {
      for (const op of expand(o)) {
        const family = familyOf(op);
        let table = this.#tables.indexOf(family);
        if (table < 0) table = this.#tables.push(family) - 1;
        this.#ops.push({ op, table, seq: this.#ops.length });
      }
    }
    return this;
  }

  get size(): number {
    return this.#ops.length;
  }

  /** The operations in the order the kernel needs them: table by table (in the order they first came), phase by phase. */
  operations(): Operation[] {
    return this.#ops
      .map((e) => ({ e, phase: phaseOf(e.op) }))
      .sort((a, b) => a.e.table - b.e.table || a.phase - b.phase || a.e.seq - b.e.seq)
      .map(({ e }) => e.op);
  }
}

export function familyOf(op: Operation): TableFamily {
  switch (op.kind) {
    case 'set': return 'set' in op ? op.set.family : op.family;
    case 'map': return 'map' in op ? op.map.family : op.family;
    default: return op.family;
  }
}
