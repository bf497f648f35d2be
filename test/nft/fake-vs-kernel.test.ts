// The stateful fake nft (test/support/nft-fake/) against the kernel: the same scripts, in the same
// order from the same empty start, applied to both. After each, both accepted or both refused (at the
// same line, with the same message), and both hold the same: chains with their rule counts and what
// their rules name, sets and maps with their elements, counters. The scripts: sluice's own (every
// golden case's full script; the from -> transaction -> to scripts of the kernel tests' transitions)
// and one hand-written script per refusal rule of the fake (test/support/nft-fake/apply.ts).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/kube-proxy-config.ts';
import { buildModel } from '../../lib/model/build.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { parseInventory } from '../../lib/nft/inventory.ts';
import { TABLE_ID_SET } from '../../lib/nft/ir.ts';
import { execNft, NftError, type TableHandle } from '../../lib/nft/runner.ts';
import { renderTableChunks } from '../../lib/nft/templates.ts';
import { planRuleset } from '../../lib/plan/plan.ts';
import { CONFIG, NODE, TRANSITIONS } from '../kernels/transitions.ts';
import { transitionScripts } from '../kernels/sluice-scripts.ts';
import { FakeNft } from '../support/nft-fake/fake-nft.ts';
import type { SetSummary, StateSummary } from '../support/nft-fake/state.ts';
import { nftAvailable } from '../support/netns.ts';
import { FIXTURES, renderCase } from '../support/render-case.ts';
import { Netns } from '../transitions/netns.ts';
import { kernelSummary } from './kernel-summary.ts';

type Verdict = 'accepted' | 'refused';
/** A script, or one made from what the fake holds before it (a full sync over the table there). */
interface Step { script: string | ((fake: FakeNft) => Promise<string>); want?: Verdict }

/** What a step did: accepted, or refused with the first line nft blamed and why. */
type Outcome = { ok: true } | { ok: false; line: number; message: string };
const outcome = (stderr: string): Outcome => {
  const m = /:(\d+):\d+(?:-\d+)?: Error: (.*)$/m.exec(stderr);
  return { ok: false, line: Number(m?.[1] ?? 0), message: m?.[2] ?? stderr.trim() };
};

// A table for the hand-written cases: every kind of object, each referred to the ways sluice refers.
const BASE = `table ip sluice {
	set s { type ipv4_addr; elements = { 9.9.9.9 } }
	set iv { type ipv4_addr; flags interval; elements = { 10.0.0.0/24 } }
	set fa { type ipv4_addr . inet_proto . inet_service . ipv4_addr; flags interval; elements = { 1.1.1.1 . tcp . 80 . 10.0.0.0/24 } }
	set aff { type ipv4_addr; flags dynamic,timeout; timeout 600s; }
	map m { type ipv4_addr : verdict; elements = { 8.8.8.8 : goto a } }
	map em { typeof numgen random mod 1 : ip daddr . tcp dport; elements = { 0 : 10.0.0.1 . 80 } }
	counter c1 { }
	counter c2 { }
	chain a { }
	chain b { }
	chain e { }
	chain j { }
	chain r { ip daddr @s goto a; }
	chain v { numgen random mod 2 vmap { 0 : goto b, 1 : goto a }; }
	chain cr { counter name "c1"; }
	chain withrule { ip daddr 1.2.3.4 drop; update @aff { ip saddr }; }
	chain out { type nat hook output priority -100; policy accept; jump j; }
}
`;

const T = 'ip sluice';
/** Hand-written cases, each applied after BASE: [what, script, what both must do]. */
const HAND: [string, string, Verdict][] = [
  ['delete a missing chain', `delete chain ${T} nope`, 'refused'],
  ['delete a missing set', `delete set ${T} nope`, 'refused'],
  ['delete a missing map', `delete map ${T} nope`, 'refused'],
  ['delete a missing counter', `delete counter ${T} nope`, 'refused'],
  ['delete a chain a rule and a map element go to', `delete chain ${T} a`, 'refused'],
  ['delete a chain only an inline vmap goes to', `flush chain ${T} r\ndelete chain ${T} b`, 'refused'],
  ['delete a chain a map element goes to', `add element ${T} m { 1.1.1.1 : goto e }\ndelete chain ${T} e`, 'refused'],
  ['delete a chain a base chain jumps to', `delete chain ${T} j`, 'refused'],
  ['delete a set a rule looks up', `delete set ${T} s`, 'refused'],
  ['delete a set a rule updates', `delete set ${T} aff`, 'refused'],
  ['delete a map a rule looks up', `add rule ${T} withrule ip daddr vmap @m\ndelete map ${T} m`, 'refused'],
  ['delete a counter a rule names', `delete counter ${T} c1`, 'refused'],
  ['a rule going to a missing chain', `add rule ${T} withrule goto nope`, 'refused'],
  ['a rule going to a chain added later in the transaction', `add rule ${T} withrule goto nc\nadd chain ${T} nc`, 'refused'],
  ['a rule looking up a missing set', `add rule ${T} withrule ip daddr @nope drop`, 'refused'],
  ['a rule naming a missing counter', `add rule ${T} withrule counter name "nope"`, 'refused'],
  ['a rule in a missing chain', `add rule ${T} nope drop`, 'refused'],
  ['an element going to a missing chain', `add element ${T} m { 1.1.1.1 : goto nope }`, 'refused'],
  ['elements of a missing set', `add element ${T} nope { 1.1.1.1 }`, 'refused'],
  ['a map element without a value', `add element ${T} m { 1.1.1.1 }`, 'refused'],
  ['create an element there already', `create element ${T} s { 9.9.9.9 }`, 'refused'],
  ['add a verdict element there with another value', `add element ${T} m { 8.8.8.8 : goto b }`, 'refused'],
  ['add a data element there with another value', `add element ${T} em { 0 : 10.0.0.2 . 80 }`, 'refused'],
  ['create a verdict element there with another value', `create element ${T} m { 8.8.8.8 : goto b }`, 'refused'],
  ['one key twice with two values in one statement', `add element ${T} m { 1.1.1.1 : goto a, 1.1.1.1 : goto b }`, 'refused'],
  ['delete a missing element', `delete element ${T} s { 1.2.3.4 }`, 'refused'],
  ['delete an element twice', `delete element ${T} s { 9.9.9.9 }\ndelete element ${T} s { 9.9.9.9 }`, 'refused'],
  ['create a chain there already', `create chain ${T} a`, 'refused'],
  ['create a set there already', `create set ${T} s { type ipv4_addr; }`, 'refused'],
  ['create a map there already', `create map ${T} m { type ipv4_addr : verdict; }`, 'refused'],
  ['create a counter there already', `create counter ${T} c1`, 'refused'],
  ['create a table there already', `create table ${T}`, 'refused'],
  ['flush a missing chain', `flush chain ${T} nope`, 'refused'],
  ['flush a missing set', `flush set ${T} nope`, 'refused'],
  ['flush a missing map', `flush map ${T} nope`, 'refused'],
  ['flush a map as a set', `flush set ${T} m`, 'refused'],
  ['flush a missing table', 'flush table ip nope', 'refused'],
  ['delete a missing table', 'delete table ip nope', 'refused'],
  ['add set over one of another type', `add set ${T} s { type ipv6_addr; }`, 'refused'],
  ['add set over one with other flags', `add set ${T} s { type ipv4_addr; flags interval; }`, 'refused'],
  ['add map over one of another type', `add map ${T} m { type ipv4_addr : ipv4_addr; }`, 'refused'],
  ['a table block declaring a set of another type', `table ${T} {\n\tset s { type ipv6_addr; }\n}`, 'refused'],
  ['a regular chain declared again as a base chain', `table ${T} {\n\tchain a { type filter hook input priority 0; policy accept; }\n}`, 'refused'],
  ['an interval overlapping one there', `add element ${T} iv { 10.0.0.128/25 }`, 'refused'],
  ['an interval as a range overlapping one there', `add element ${T} iv { 10.0.0.200-10.0.1.5 }`, 'refused'],
  ['two overlapping intervals in one statement', `add element ${T} iv { 10.1.0.0/16, 10.1.2.0/24 }`, 'refused'],
  ['a concatenated interval overlapping one there', `add element ${T} fa { 1.1.1.1 . tcp . 80 . 10.0.0.0/25 }`, 'refused'],
  ['two overlapping concatenated intervals in one statement', `add element ${T} fa { 2.1.1.1 . tcp . 80 . 10.0.0.0/24, 2.1.1.1 . tcp . 80 . 10.0.0.7 }`, 'refused'],
  ['create an interval there already', `create element ${T} iv { 10.0.0.0/24 }`, 'refused'],
  ['destroy (nft 1.0.6 has no such command)', `destroy chain ${T} nope`, 'refused'],
  ['a refused script changes nothing of what came before in it', `add element ${T} s { 5.5.5.5 }\nadd counter ${T} c3\nflush chain ${T} r\ndelete chain ${T} nope`, 'refused'],
  ['add an element there already, same key', `add element ${T} s { 9.9.9.9 }`, 'accepted'],
  ['add a verdict element there already, same value', `add element ${T} m { 8.8.8.8 : goto a }`, 'accepted'],
  ['one key twice in one statement', `add element ${T} s { 7.7.7.7, 7.7.7.7 }`, 'accepted'],
  ['add chain, counter, set over ones there', `add chain ${T} a\nadd counter ${T} c1\nadd set ${T} s { type ipv4_addr; }`, 'accepted'],
  ['add set over one with another timeout (it takes the new one)', `add set ${T} aff { type ipv4_addr; flags dynamic,timeout; timeout 1800s; }`, 'accepted'],
  ['delete a chain that has rules', `delete chain ${T} withrule`, 'accepted'],
  ['delete a chain, then the counter its rule named', `delete chain ${T} cr\ndelete counter ${T} c1`, 'accepted'],
  ['delete a map as a set', `delete set ${T} em`, 'accepted'],
  ['delete what refers to a chain, then the chain', `flush chain ${T} r\nflush chain ${T} v\ndelete element ${T} m { 8.8.8.8 }\ndelete chain ${T} a`, 'accepted'],
  ['adjacent and equal intervals; an address as a /32', `add element ${T} iv { 10.0.1.0/24 }\nadd element ${T} iv { 10.0.0.0/24 }\nadd element ${T} iv { 10.9.0.1/32 }\nadd element ${T} iv { 10.9.0.1 }`, 'accepted'],
  ['a set added, then a rule using it; a rule inserted', `add set ${T} ns { type ipv4_addr; }\nadd rule ${T} withrule ip daddr @ns drop\ninsert rule ${T} withrule goto e`, 'accepted'],
  ['flush table keeps elements and counters', `flush table ${T}\ndelete chain ${T} r\ndelete set ${T} s`, 'accepted'],
  ['a chain block adds rules to the chain there', `table ${T} {\n\tchain withrule {\n\t\tdrop\n\t}\n}`, 'accepted'],
  ['a flat chain with rules; statements split by ; and comments', `add chain ${T} newc { ip daddr 1.1.1.1 drop; ip daddr 2.2.2.2 goto b; }\nadd element ${T} s { 6.6.6.6 } ; add counter ${T} c3 # a comment\n`, 'accepted'],
  ['a comment ending the script without a line end', `add counter ${T} c3 # a comment`, 'refused'],
  ['delete the table, whatever refers to what', `delete table ${T}`, 'accepted'],
];

const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

const sequences: [string, Step[]][] = [
  // Each replaces the one before: the header deletes the tables whether or not they are there.
  ['every golden case, one after another', cases.map((c) => ({ script: renderCase(join(FIXTURES, c)).script, want: 'accepted' }))],
  ...TRANSITIONS.map((t): [string, Step[]] => {
    const s = transitionScripts(t.from, t.to, CONFIG, NODE);
    return [`transition ${t.name}`, [s.from, s.transaction, s.to].map((script) => ({ script, want: 'accepted' }))];
  }),
  // A full sync over a table of other services, each family: the prologue empties and deletes what the
  // inventory (read from the fake; compared with the kernel's below) says is there.
  ...TRANSITIONS.map((t): [string, Step[]] => {
    const to = planned(t.to);
    const fullSync = (family: 'ip' | 'ip6'): Step => ({
      want: 'accepted',
      script: async (fake) => [...renderTableChunks(to.tables.find((x) => x.family === family)!, { existing: await fake.inventory(family, { counters: true }) })].join(''),
    });
    return [`transition ${t.name} as a full sync`, [{ script: transitionScripts(t.from, t.to, CONFIG, NODE).from, want: 'accepted' }, fullSync('ip'), fullSync('ip6')]];
  }),
  ...HAND.map(([name, script, want]): [string, Step[]] => [name, [{ script: BASE, want: 'accepted' }, { script, want }]]),
];

/** nft 1.0.6's JSON listing leaves out a set's `dynamic` flag (its text listing shows it): not compared. */
function withoutDynamic(s: StateSummary): StateSummary {
  const out: StateSummary = {};
  for (const [k, v] of Object.entries(s)) out[k] = 'elements' in v ? { ...(v as SetSummary), flags: v.flags.filter((f) => f !== 'dynamic') } : v;
  return out;
}

/** The ruleset sluice plans for these objects, as the kernel tests plan it (test/kernels/sluice-scripts.ts). */
function planned(objects: object[]) {
  const config = parseConfig(CONFIG, (w) => { throw new Error(w); });
  const of = (kind: string) => (objects as KubeObject[]).filter((o) => o.kind === kind);
  return planRuleset(buildModel({ services: of('Service'), endpointSlices: of('EndpointSlice'), endpoints: of('Endpoints'), nodes: of('Node') }, NODE), config);
}

const scriptOf = (s: Step, fake: FakeNft) => (typeof s.script === 'string' ? Promise.resolve(s.script) : s.script(fake));

/** What execNft's tables() makes of the kernel: each sluice table's id, the element of its TABLE_ID_SET (read here from the listing). */
function kernelTables(listing: string): TableHandle[] {
  const sets = (JSON.parse(listing) as { nftables: { set?: { family: string; table: string; name: string; elem?: unknown[] } }[] }).nftables.flatMap((i) => (i.set ? [i.set] : []));
  return ['ip', 'ip6'].flatMap((family) => sets.filter((x) => x.family === family && x.table === 'sluice' && x.name === TABLE_ID_SET && x.elem?.length === 1)
    .map((x) => ({ family, name: 'sluice', handle: Number(x.elem![0]) })));
}

async function onFake(fake: FakeNft, script: string): Promise<Outcome> {
  try {
    await fake.apply(script);
    return { ok: true };
  } catch (e) {
    if (!(e instanceof NftError)) throw e;
    return outcome(e.stderr);
  }
}

test('there are scripts of every kind to compare', () => {
  expect(cases.length).toBeGreaterThanOrEqual(8);
  expect(TRANSITIONS.length).toBeGreaterThanOrEqual(10);
  expect(HAND.filter((h) => h[2] === 'refused').length).toBeGreaterThanOrEqual(30);
});

describe('the fake alone', () => {
  test.each(sequences)('%s: accepted or refused as expected', async (_name, steps) => {
    const fake = new FakeNft();
    const got: Verdict[] = [];
    for (const s of steps) got.push((await onFake(fake, await scriptOf(s, fake))).ok ? 'accepted' : 'refused');
    expect(got).toEqual(steps.map((s) => s.want));
  });

  test('a refused script leaves the state as it was, and says where and why as nft does', async () => {
    const fake = new FakeNft();
    await fake.apply(BASE);
    const before = fake.summary();
    const err = await fake.apply(`add element ${T} s { 5.5.5.5 }\ndelete chain ${T} a`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NftError);
    expect((err as NftError).lines).toEqual([{ line: 2, text: `delete chain ${T} a`, message: 'Could not process rule: Device or resource busy' }]);
    expect(fake.summary()).toEqual(before);
    expect(fake.refused).toHaveLength(1);
    expect(fake.scripts).toEqual([BASE]);
  });
});

const available = nftAvailable();
const suite = available.ok ? describe : describe.skip;

suite(available.ok ? 'the fake against the kernel' : `the fake against the kernel (skipped: ${available.reason})`, () => {
  const ns = new Netns(`fk-cmp-${randomBytes(3).toString('hex')}`);
  beforeAll(() => ns.create());
  afterAll(() => ns.destroy());

  async function onKernel(script: string): Promise<Outcome> {
    try {
      await ns.nft(['-f', '-'], script);
      return { ok: true };
    } catch (e) {
      return outcome((e as Error).message);
    }
  }

  test.each(sequences)('%s: the same answers and the same state after each step', async (_name, steps) => {
    await ns.flush();
    const fake = new FakeNft();
    for (const [i, s] of steps.entries()) {
      const script = await scriptOf(s, fake);
      const kernel = await onKernel(script);
      const faked = await onFake(fake, script);
      expect({ step: i, ...faked }).toEqual({ step: i, ...kernel });
      if (s.want) expect({ step: i, got: kernel.ok ? 'accepted' : 'refused' }).toEqual({ step: i, got: s.want });
      const listing = await ns.nft(['-j', 'list', 'ruleset']);
      expect(withoutDynamic(fake.summary())).toEqual(withoutDynamic(kernelSummary(listing)));
      // What the sync loop asks a runner, as execNft would read it from the kernel (its own calls, once, below).
      for (const family of ['ip', 'ip6'] as const) expect({ family, inventory: await fake.inventory(family, { counters: true }) }).toEqual({ family, inventory: parseInventory([listing], family) });
      expect(await fake.tables()).toEqual(kernelTables(listing));
    }
  });

  // The kernel numbers a table's objects from 1 again when the table is made anew, so object handles
  // cannot tell a table made anew by someone else (another sluice, `sluice render | nft -f -`, a
  // saved ruleset); the table id each full sync chooses can.
  test('a table made anew by a rendered script, or by another sync, holds another table id, in the kernel and the fake', async () => {
    await ns.flush();
    const fake = new FakeNft();
    const seen: { kernel: TableHandle[]; fake: TableHandle[] }[] = [];
    const t = planned(TRANSITIONS[0].from).tables[0];
    for (const script of [renderCase(join(FIXTURES, 'lab-cluster')).script, [...renderTableChunks(t, {})].join(''), [...renderTableChunks(t, { replace: true })].join('')]) {
      if (seen.length === 1) {
        await ns.nft(['delete', 'table', 'ip', 'sluice']);
        fake.outside('delete table ip sluice');
      }
      await ns.nft(['-f', '-'], script);
      await fake.apply(script);
      seen.push({ kernel: kernelTables(await ns.nft(['-j', 'list', 'ruleset'])), fake: await fake.tables() });
    }
    const ipId = (s: TableHandle[]) => s.find((x) => x.family === 'ip')?.handle;
    for (const s of seen) expect(s.fake).toEqual(s.kernel);
    expect(ipId(seen[0].kernel)).toBe(0); // sluice render
    expect(ipId(seen[1].kernel)).toBeGreaterThan(0); // a sync's
    expect(ipId(seen[2].kernel)).toBe(0); // rendered again over it
  });

  test('execNft over the kernel answers tables() and inventory() as they are read from the listing above', async () => {
    await ns.flush();
    const fake = new FakeNft();
    const real = execNft({ nft: ns.nftPath });
    const script = renderCase(join(FIXTURES, 'counters')).script;
    await real.apply(script);
    await fake.apply(script);
    expect(await real.tables()).toEqual(await fake.tables());
    expect((await real.tables()).map((t) => t.family)).toEqual(['ip', 'ip6']);
    for (const family of ['ip', 'ip6'] as const) {
      expect(await real.inventory(family, { counters: true })).toEqual(await fake.inventory(family, { counters: true }));
      expect(await real.inventory(family)).toEqual(await fake.inventory(family));
    }
    expect((await fake.inventory('ip', { counters: true }))?.counters?.size).toBeGreaterThan(0);
    expect(JSON.parse((await fake.listCounters('ip'))!).nftables.slice(1).map((c: any) => c.counter.name))
      .toEqual(JSON.parse((await real.listCounters!('ip'))!).nftables.slice(1).map((c: any) => c.counter.name));
  });
});
