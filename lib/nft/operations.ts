// What a sync sends, as operations (lib/nft/transaction.ts): a full sync's whole table, or a partial
// sync's change (lib/nft/diff.ts). The Transaction puts them in the kernel's order.
import { randomInt } from 'node:crypto';
import type { TableChange } from './diff.ts';
import { TABLE_ID_SET, type FamilyRuleset } from './ir.ts';
import { fullSyncPrologue, type TableInventory } from './inventory.ts';
import { skeletonOf } from './skeleton.ts';
import { Transaction, type Operation, type TableObject } from './transaction.ts';

/** How a full sync finds the table: `replace` deletes whatever is there first (what `sluice render` prints); `existing` is what it holds. */
export type FullSyncStart = { replace: true } | { existing?: TableInventory; tableId?: number };

/**
 * A table id (TABLE_ID_SET) for a sync to write: at random, from 1 up, so that a table made anew by
 * anyone else (a rendered script, another sluice) holds another id than the one it wrote.
 */
export function newTableId(): number {
  return randomInt(1, 2 ** 32 - 1);
}

/** `sluice render` always writes 0, so that its output stays the same for the same cluster. */
function tableIdFor(start: FullSyncStart): number {
  return 'replace' in start ? 0 : start.tableId ?? newTableId();
}

/**
 * One family's table written whole. Over a table that exists, its rules go and its stateless sets and
 * maps are emptied, what the ruleset no longer has is deleted, and affinity sets and counters that
 * stay keep their state; without one, the table is made.
 * The skeleton is a block of its own, then the service ports' maps, sets, counters and chains (counters
 * before the chains whose rules name them), then the elements of the shared sets and maps.
 */
export function fullSyncTransaction(t: FamilyRuleset, start: FullSyncStart): Transaction {
  const F = t.family;
  const tx = new Transaction();
  if ('replace' in start) tx.push({ verb: 'replace', kind: 'table', family: F });
  else if (start.existing) {
    const p = fullSyncPrologue(t, start.existing);
    tx.push({ verb: 'add', kind: 'table', family: F }, { verb: 'flush', kind: 'table', family: F });
    for (const name of p.flushSets) tx.push({ verb: 'flush', kind: 'set', family: F, name });
    for (const name of p.flushMaps) tx.push({ verb: 'flush', kind: 'map', family: F, name });
    for (const name of p.deleteChains) tx.push({ verb: 'delete', kind: 'chain', family: F, name });
    for (const name of p.deleteMaps) tx.push({ verb: 'delete', kind: 'map', family: F, name });
    for (const name of p.deleteSets) tx.push({ verb: 'delete', kind: 'set', family: F, name });
    for (const name of p.deleteCounters) tx.push({ verb: 'delete', kind: 'counter', family: F, name });
  }
  const skeleton = skeletonOf(F, t.mark);
  tx.push({
    verb: 'add', kind: 'table', family: F,
    objects: [
      ...skeleton.sets.map((s): TableObject => (s.verdicts ? { kind: 'map', map: s } : { kind: 'set', set: s })),
      ...skeleton.chains.map((chain): TableObject => ({ kind: 'chain', chain })),
    ],
  });
  const objects: TableObject[] = [
    ...t.endpointMaps.map((map): TableObject => ({ kind: 'map', map })),
    ...t.affinitySets.map((set): TableObject => ({ kind: 'set', set })),
    ...(t.counters ?? []).map((name): TableObject => ({ kind: 'counter', family: F, name })),
    ...t.chains.map((chain): TableObject => ({ kind: 'chain', chain })),
  ];
  if (objects.length) tx.push({ verb: 'add', kind: 'table', family: F, objects });
  for (const [set, elements] of Object.entries(t.elements)) if (elements.length) tx.push({ verb: 'add', kind: 'element', family: F, set, elements });
  tx.push({ verb: 'add', kind: 'element', family: F, set: TABLE_ID_SET, elements: [{ key: [tableIdFor(start)] }] });
  return tx;
}

/** The operations that turn a table into another (diff.ts says what changed). */
export function changeOperations(change: TableChange): Operation[] {
  const F = change.family;
  const ops: Operation[] = [];
  for (const c of change.elementsRemoved) ops.push({ verb: 'delete', kind: 'element', family: F, set: c.set, elements: c.elements });
  for (const { chain, existed } of change.chainsWritten) if (existed) ops.push({ verb: 'flush', kind: 'chain', family: F, name: chain.name });
  for (const name of change.chainsRemoved) ops.push({ verb: 'flush', kind: 'chain', family: F, name }, { verb: 'delete', kind: 'chain', family: F, name });
  for (const name of change.mapsRemoved) ops.push({ verb: 'delete', kind: 'map', family: F, name });
  // A set removed and added again is one whose definition changed: made anew.
  const remade = new Set(change.setsAdded.map((s) => s.name).filter((n) => change.setsRemoved.includes(n)));
  for (const name of change.setsRemoved) if (!remade.has(name)) ops.push({ verb: 'delete', kind: 'set', family: F, name });
  for (const name of change.countersRemoved) ops.push({ verb: 'delete', kind: 'counter', family: F, name });
  for (const map of change.mapsAdded) ops.push({ verb: 'add', kind: 'map', map });
  for (const set of change.setsAdded) ops.push({ verb: remade.has(set.name) ? 'replace' : 'add', kind: 'set', set });
  for (const name of change.countersAdded) ops.push({ verb: 'add', kind: 'counter', family: F, name });
  for (const { chain, existed } of change.chainsWritten) if (!existed) ops.push({ verb: 'add', kind: 'chain', family: F, chain: { name: chain.name, rules: [] } });
  for (const { chain } of change.chainsWritten) for (const rule of chain.rules) ops.push({ verb: 'add', kind: 'rule', family: F, chain: chain.name, rule });
  for (const c of change.elementsAdded) ops.push({ verb: 'add', kind: 'element', family: F, set: c.set, elements: c.elements });
  return ops;
}

/** A partial transaction over several tables. */
export function changeTransaction(changes: TableChange[]): Transaction {
  const tx = new Transaction();
  for (const c of changes) tx.push(...changeOperations(c));
  return tx;
}
