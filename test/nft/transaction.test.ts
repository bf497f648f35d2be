// The Transaction (lib/nft/transaction.ts): operations pushed in any order come out in the order the
// kernel needs, `replace` is a delete early and an add late, and the kernel refuses the same
// operations in the order they were pushed.
import { describe, expect, test } from '@jest/globals';
import type { AffinitySet, Chain, EndpointMap } from '../../lib/nft/ir.ts';
import { renderTransactionChunks } from '../../lib/nft/templates.ts';
import { Transaction, type Operation } from '../../lib/nft/transaction.ts';
import { nftAvailable, withNetns } from '../support/netns.ts';

const F = 'ip' as const;
const chain = (name: string): Chain => ({ name, rules: [] });
const map: EndpointMap = { family: F, name: 'eps/a', proto: 'tcp', elements: [{ key: [0], value: ['10.244.1.1', 80] }] };
const set: AffinitySet = { family: F, name: 'aff/a', timeout: 60 };
const describeOp = (op: Operation) => `${op.verb} ${op.kind}`;
const render = (tx: Transaction) => [...renderTransactionChunks(tx)].join('');

/** What a sync would push for: a service gone (its chain, map and verdict element), another one new. */
function serviceSwap(): Operation[] {
  return [
    { verb: 'add', kind: 'element', family: F, set: 'service-ips', elements: [{ key: ['10.96.0.2', 'tcp', 80], goto: 'svc/b' }] },
    { verb: 'add', kind: 'rule', family: F, chain: 'svc/b', rule: { op: 'dnat', family: F, proto: 'tcp', address: '10.244.1.2', port: 80 } },
    { verb: 'add', kind: 'chain', family: F, chain: chain('svc/b') },
    { verb: 'delete', kind: 'map', family: F, name: 'eps/a' },
    { verb: 'delete', kind: 'chain', family: F, name: 'svc/a' },
    { verb: 'flush', kind: 'chain', family: F, name: 'svc/a' },
    { verb: 'delete', kind: 'element', family: F, set: 'service-ips', elements: [{ key: ['10.96.0.1', 'tcp', 80] }] },
  ];
}

describe('order', () => {
  test('elements out, chains flushed, then deleted, maps deleted; declarations, rules, elements in', () => {
    expect(new Transaction().push(...serviceSwap()).operations().map(describeOp)).toEqual([
      'delete element', 'flush chain', 'delete chain', 'delete map', 'add chain', 'add rule', 'add element',
    ]);
  });

  test('operations of one phase keep the order they were pushed in; tables follow one another', () => {
    const tx = new Transaction().push(
      { verb: 'add', kind: 'chain', family: F, chain: chain('x') },
      { verb: 'add', kind: 'chain', family: 'ip6', chain: chain('z') },
      { verb: 'add', kind: 'chain', family: F, chain: chain('y') },
    );
    expect(tx.operations().map((op) => (op.kind === 'chain' && 'chain' in op ? `${op.family} ${op.chain.name}` : ''))).toEqual(['ip x', 'ip y', 'ip6 z']);
  });

  test('replace: a set is deleted with the deletions and added with the additions', () => {
    const tx = new Transaction().push(
      { verb: 'add', kind: 'rule', family: F, chain: 'ep/a', rule: { op: 'affinity-update', family: F, set: 'aff/a' } },
      { verb: 'replace', kind: 'set', set },
      { verb: 'flush', kind: 'chain', family: F, name: 'ep/a' },
    );
    expect(tx.operations().map(describeOp)).toEqual(['flush chain', 'delete set', 'add set', 'add rule']);
  });

  test('replace: a table is declared, deleted, then written whole', () => {
    const tx = new Transaction().push({ verb: 'replace', kind: 'table', family: F, objects: [{ kind: 'map', map }] });
    expect(render(tx)).toBe(
      'table ip sluice\ndelete table ip sluice\n\ntable ip sluice {\n\tmap eps/a {\n'
      + '\t\ttypeof numgen random mod 1 : ip daddr . tcp dport\n\t\telements = { 0 : 10.244.1.1 . 80 }\n\t}\n}\n');
  });
});

describe('verbs', () => {
  test('each renders as nft names it', () => {
    const text = render(new Transaction().push(
      { verb: 'create', kind: 'chain', family: F, chain: chain('c') },
      { verb: 'add', kind: 'counter', family: F, name: 'cnt/a' },
      { verb: 'flush', kind: 'set', family: F, name: 'hairpin' },
      { verb: 'delete', kind: 'counter', family: F, name: 'cnt/b' },
      { verb: 'flush', kind: 'table', family: F },
    ));
    expect(text.split('\n').filter(Boolean)).toEqual([
      'flush table ip sluice', 'flush set ip sluice hairpin', 'delete counter ip sluice cnt/b', 'create chain ip sluice c', 'add counter ip sluice cnt/a',
    ]);
  });
});

const available = nftAvailable();
const maybe = available.ok ? test : test.skip;
if (!available.ok) test.skip(`kernel half skipped: ${available.reason}`, () => {});

maybe('the kernel takes the ordered transaction, and refuses the same operations in the order they were pushed', () => {
  // A table holding service a: svc/a picks from eps/a, and service-ips sends 10.96.0.1:80 to svc/a.
  const before = new Transaction().push(
    { verb: 'add', kind: 'table', family: F },
    { verb: 'add', kind: 'map', map: { family: F, name: 'service-ips', key: ['address', 'proto', 'port'], verdicts: true } },
    { verb: 'add', kind: 'map', map },
    { verb: 'add', kind: 'chain', family: F, chain: chain('svc/a') },
    { verb: 'add', kind: 'rule', family: F, chain: 'svc/a', rule: { op: 'dnat-random', family: F, proto: 'tcp', map: 'eps/a', count: 1 } },
    { verb: 'add', kind: 'element', family: F, set: 'service-ips', elements: [{ key: ['10.96.0.1', 'tcp', 80], goto: 'svc/a' }] },
  );
  const swap = serviceSwap();
  const inPushOrder = swap.map((op) => render(new Transaction().push(op))).join('');
  withNetns((nft) => {
    nft(['-f', '-'], render(before));
    // The first element goes to svc/b, which does not exist yet.
    expect(() => nft(['-f', '-'], inPushOrder)).toThrow(/No such file or directory/);
    nft(['-f', '-'], render(new Transaction().push(...swap)));
    const listing = nft(['list', 'table', 'ip', 'sluice']);
    expect(listing).toContain('chain svc/b');
    expect(listing).not.toContain('svc/a');
    expect(listing).not.toContain('eps/a');
  });
});
