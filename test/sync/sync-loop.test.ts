// The sync loop alone: a FakeNft that holds the tables, keeps every script it is sent and refuses what
// the kernel would (test/support/nft-fake/), and a fake clock, so time, coalescing and retries are
// exact and nothing waits for real time.
import { afterEach, describe, expect, test } from '@jest/globals';
import { parseConfig } from '../../lib/config/kube-proxy-config.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { recordingLogger } from '../../lib/log.ts';
import { ObjectStore } from '../../lib/objects/store.ts';
import { scriptText, type Script } from '../../lib/nft/runner.ts';
import { FakeNft } from '../support/nft-fake/fake-nft.ts';
import type { TableInventory } from '../../lib/nft/inventory.ts';
import { renderTableChunks } from '../../lib/nft/templates.ts';
import { planFromStore } from '../../lib/render.ts';
import { SyncLoop, type SyncOutcome } from '../../lib/sync/sync-loop.ts';
import { FakeClock, settle } from './fake-clock.ts';

const config = parseConfig({
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.244.0.0/16',
  nftables: { syncPeriod: '2s', minSyncPeriod: '200ms' },
}, () => {});
const NODE = 'node1';

function service(name: string, clusterIP: string, protocol = 'TCP'): KubeObject {
  return { kind: 'Service', metadata: { name, namespace: 'lab' }, spec: { clusterIP, ports: [{ port: 80, targetPort: 9376, protocol }] } };
}

function slice(service: string, addresses: string[], protocol = 'TCP'): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: { name: `${service}-1`, namespace: 'lab', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ port: 9376, protocol }],
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, nodeName: NODE })),
  };
}

/** A FakeNft that also remembers the scripts it refused, and can hold an apply until released. */
class RecordingNft extends FakeNft {
  readonly attempts: { script: string; ok: boolean }[] = [];
  /** When each attempt was made, by the loop's clock. */
  readonly times: number[] = [];
  tableReads = 0;
  /** How many of the next tables() calls fail. */
  tableFailures = 0;
  gate: Promise<void> | undefined;
  readonly clock: FakeClock;
  constructor(clock: FakeClock) {
    super();
    this.clock = clock;
  }
  override async apply(given: Script): Promise<void> {
    const script = scriptText(given);
    const recorded = withoutTableId(script);
    this.times.push(this.clock.now());
    if (this.gate) await this.gate;
    try {
      await super.apply(script);
      this.attempts.push({ script: recorded, ok: true });
    } catch (e) {
      this.attempts.push({ script: recorded, ok: false });
      throw e;
    }
  }
  override async tables() {
    this.tableReads++;
    if (this.tableFailures > 0) {
      this.tableFailures--;
      throw new Error('nft: netlink: Error: cannot list tables');
    }
    return super.tables();
  }
}

// No fake of a test may have refused a script sluice sent (the failures a test injects are not refusals).
afterEach(() => {
  for (const nft of FakeNft.made.splice(0)) expect(nft.refused.map((r) => r.error.stderr)).toEqual([]);
});

/** Someone else deletes sluice's table of a family and makes another of the same name (with a table id of its own). */
const remade = (family: 'ip' | 'ip6') =>
  `delete table ${family} sluice\ntable ${family} sluice {\n\tset table-id { type mark; elements = { 7 }; }\n}\n`;

/** Each full sync picks its table id at random (lib/nft/operations.ts): scripts compare without it. */
const withoutTableId = (script: string) => script.replace(/^(add element ip6? sluice table-id \{ )\d+( \})$/gm, '$1ID$2');

// A full sync writes its table in block syntax; a partial transaction never does.
const isFull = (script: string) => /^table ip6? sluice \{$/m.test(script);

function setUp(opts: { listed?: boolean } = {}) {
  const store = new ObjectStore();
  const clock = new FakeClock();
  const nft = new RecordingNft(clock);
  const log = recordingLogger();
  const outcomes: SyncOutcome[] = [];
  const loop = new SyncLoop({ store, config, nodeName: NODE, nft, log, clock, onSync: (o) => outcomes.push(o) });
  loop.start();
  store.upsert(service('web', '10.96.0.10'));
  store.upsert(slice('web', ['10.244.1.11', '10.244.2.11']));
  if (opts.listed ?? true) for (const kind of ['Service', 'EndpointSlice', 'Endpoints', 'Node'] as const) store.synced(kind);
  /** What a full sync of the store's current objects sends, one script per family: into empty tables, or over what `existing` says is there. */
  const expectedFull = (existing?: TableInventory) => planFromStore(store, config, NODE).ruleset.tables.map((t) => withoutTableId([...renderTableChunks(t, { existing })].join('')));
  const fullAttempts = (existing?: TableInventory) => expectedFull(existing).map((script) => ({ script, ok: true }));
  return { store, nft, clock, log, loop, outcomes, expectedFull, fullAttempts };
}

describe('SyncLoop', () => {
  test('nothing is written before Services and EndpointSlices are both listed', async () => {
    const h = setUp({ listed: false });
    h.store.synced('Service');
    h.store.synced('Endpoints');
    h.store.synced('Node');
    await h.clock.advance(10_000); // five periodic checks come and go
    expect(h.nft.attempts).toEqual([]);
    expect(h.nft.tableReads).toBe(0);
    h.store.synced('EndpointSlice');
    await h.clock.advance(0);
    expect(h.nft.attempts).toEqual(h.fullAttempts());
    await h.loop.stop();
  });

  test('only EndpointSlices listed is not enough either', async () => {
    const h = setUp({ listed: false });
    h.store.synced('EndpointSlice');
    await h.clock.advance(5000);
    expect(h.nft.attempts).toEqual([]);
    h.store.synced('Service');
    await h.clock.advance(0);
    expect(h.nft.attempts.map((a) => isFull(a.script))).toEqual([true, true]);
    await h.loop.stop();
  });

  test('the first sync writes both tables whole, at once, one transaction per family', async () => {
    const h = setUp();
    await h.clock.advance(0);
    expect(h.nft.attempts).toEqual(h.fullAttempts());
    expect(h.outcomes.map((o) => [o.kind, o.ok])).toEqual([['full', true]]);
    await h.loop.stop();
  });

  test('a sync that sent nothing (a periodic check) does not make the next change wait for minSyncPeriod', async () => {
    const h = setUp();
    await h.clock.advance(0); // the first, full sync at t = 0
    await h.clock.advance(config.syncPeriodMs); // the periodic check: nothing to send
    expect(h.nft.attempts).toHaveLength(2);
    await h.clock.advance(10);
    h.store.upsert(slice('web', ['10.244.1.11']));
    await h.clock.advance(0);
    expect(h.nft.times).toEqual([0, 0, config.syncPeriodMs + 10]);
    await h.loop.stop();
  });

  test('changes within minSyncPeriod are sent together, in one partial transaction, when it has passed', async () => {
    const h = setUp();
    await h.clock.advance(0);
    await h.clock.advance(50);
    h.store.upsert(slice('web', ['10.244.1.11', '10.244.2.11', '10.244.1.12']));
    await h.clock.advance(50);
    h.store.upsert(service('db', '10.96.0.20'));
    await h.clock.advance(50);
    h.store.upsert(slice('db', ['10.244.2.12']));
    await h.clock.advance(49); // t = 199: minSyncPeriod has not passed since the first sync
    expect(h.nft.attempts).toHaveLength(2);
    await h.clock.advance(1); // t = 200
    expect(h.nft.attempts).toHaveLength(3); // only the ip table changed
    expect(h.nft.times).toEqual([0, 0, 200]);
    const partial = h.nft.attempts[2].script;
    expect(isFull(partial)).toBe(false);
    expect(partial).toContain('10.244.1.12'); // the new endpoint of web
    expect(partial).toContain('svc/lab/db/tcp/80'); // the new service and its endpoint
    expect(partial).toContain('10.244.2.12');
    expect(h.outcomes.map((o) => o.kind)).toEqual(['full', 'partial']);
    // A change long after the last sync goes out at once.
    await h.clock.advance(1000);
    h.store.remove('EndpointSlice', 'lab/db-1');
    await h.clock.advance(0);
    expect(h.nft.attempts).toHaveLength(4);
    await h.loop.stop();
  });

  test('changes that arrive while a sync is under way wait for it and go out together after minSyncPeriod', async () => {
    const h = setUp();
    await h.clock.advance(0);
    await h.clock.advance(1000);
    let release!: () => void;
    h.nft.gate = new Promise((resolve) => { release = resolve; });
    h.store.upsert(slice('web', ['10.244.1.11']));
    await h.clock.advance(0); // the sync starts and waits inside nft
    for (const last of ['12', '13', '14']) {
      h.store.upsert(slice('web', ['10.244.1.11', `10.244.1.${last}`]));
      await h.clock.advance(100);
    }
    expect(h.nft.attempts).toHaveLength(2);
    h.nft.gate = undefined;
    release();
    await settle();
    expect(h.nft.attempts).toHaveLength(3); // the held sync
    // The held sync started at t=1000 and ended at t=1300, past minSyncPeriod: the three changes go
    // out at once, together, with only the last state.
    await h.clock.advance(0);
    expect(h.nft.attempts).toHaveLength(4);
    expect(h.nft.times).toEqual([0, 0, 1000, 1300]);
    expect(h.nft.attempts[3].script).toContain('10.244.1.14');
    expect(h.nft.attempts[3].script).not.toContain('10.244.1.13');
    await h.clock.advance(5000);
    expect(h.nft.attempts).toHaveLength(4);
    await h.loop.stop();
  });

  test('an unchanged input sends nothing: neither the same object again nor a periodic resync', async () => {
    const h = setUp();
    await h.clock.advance(0);
    h.store.upsert(service('web', '10.96.0.10'));
    h.store.upsert(slice('web', ['10.244.1.11', '10.244.2.11']));
    await h.clock.advance(10_000);
    expect(h.nft.attempts).toHaveLength(2);
    // An object the rules do not depend on (another node) changes nothing either.
    h.store.upsert({ kind: 'Node', metadata: { name: 'node2' } });
    await h.clock.advance(1000);
    expect(h.nft.attempts).toHaveLength(2);
    // The periodic checks did look at the tables (and only they: a full sync knows the table id it wrote).
    expect(h.nft.tableReads).toBeGreaterThanOrEqual(5);
    await h.loop.stop();
  });

  test('after nft refuses a sync, the next one of that family is full, after minSyncPeriod, without a new change', async () => {
    const h = setUp();
    await h.clock.advance(0);
    await h.clock.advance(1000);
    // The refused transaction changed nothing: the full sync that follows is over the table the first one wrote.
    const held = await h.nft.inventory('ip');
    expect(held?.chains.has('svc/lab/web/tcp/80')).toBe(true);
    h.nft.failures.push('/dev/stdin:1:1-6: Error: Could not process rule: No such file or directory\n');
    h.store.upsert(slice('web', ['10.244.1.11']));
    await h.clock.advance(0);
    expect(h.nft.attempts.map((a) => [isFull(a.script), a.ok])).toEqual([[true, true], [true, true], [false, false]]);
    expect(h.outcomes.at(-1)).toMatchObject({ kind: 'partial', ok: false });
    await h.clock.advance(199);
    expect(h.nft.attempts).toHaveLength(3);
    await h.clock.advance(1);
    expect(h.nft.attempts).toHaveLength(4);
    expect(h.nft.attempts[3]).toEqual(h.fullAttempts(held)[0]);
    expect(h.log.lines.find((l) => l.msg === 'full sync: writing the table whole' && l.fields?.reason === 'the previous sync failed' && l.fields?.family === 'ip')).toBeDefined();
    // And after that success, changes are partial again.
    h.store.upsert(slice('web', ['10.244.1.11', '10.244.1.12']));
    await h.clock.advance(200);
    expect(h.nft.attempts.map((a) => isFull(a.script))).toEqual([true, true, false, true, false]);
    await h.loop.stop();
  });

  test('a failed full sync is retried as a full sync until it works, each family on its own', async () => {
    const h = setUp();
    h.nft.failures.push('Error: one', 'Error: two', 'Error: three');
    await h.clock.advance(1000);
    // t=0: ip and ip6 refused; t=200: ip refused again, ip6 applied; t=400: ip applied.
    expect(h.nft.attempts.map((a) => [isFull(a.script), a.ok])).toEqual([[true, false], [true, false], [true, false], [true, true], [true, true]]);
    expect(h.nft.attempts.map((a) => /^table (ip6?) sluice \{$/m.exec(a.script)![1])).toEqual(['ip', 'ip6', 'ip', 'ip6', 'ip']);
    expect(h.nft.times).toEqual([0, 0, 200, 200, 400]);
    await h.clock.advance(5000);
    expect(h.nft.attempts).toHaveLength(5);
    await h.loop.stop();
  });

  test('a table handle changed under sluice, found by the periodic check, makes the next sync full', async () => {
    const h = setUp();
    await h.clock.advance(0);
    await h.clock.advance(2000); // one periodic check: handles unchanged, nothing sent
    expect(h.nft.attempts).toHaveLength(2);
    // Someone deleted the ip table and created another one of the same name.
    h.nft.outside(remade('ip'));
    const remadeInventory = await h.nft.inventory('ip');
    await h.clock.advance(1999);
    expect(h.nft.attempts).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.nft.attempts).toHaveLength(3);
    expect(h.nft.attempts[2]).toEqual(h.fullAttempts(remadeInventory)[0]);
    expect(h.log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toContain('sluice\'s table was changed outside sluice; syncing it whole');
    // The new handles are the ones to compare against now: the next check finds nothing amiss.
    await h.clock.advance(2000);
    expect(h.nft.attempts).toHaveLength(3);
    await h.loop.stop();
  });

  test('a table made anew is still found after listing the tables failed once', async () => {
    const h = setUp();
    await h.clock.advance(0);
    h.nft.tableFailures = 1; // the first periodic check cannot list the tables
    // The ip table made again exactly as sluice wrote it (its table id too); the ip6 one made anew, empty.
    h.nft.outside(`delete table ip sluice\n${h.nft.scripts[0]}${remade('ip6')}`);
    await h.clock.advance(2000);
    expect(h.log.lines.map((l) => l.msg)).toContain('could not list nft tables');
    expect(h.nft.attempts).toHaveLength(2);
    await h.clock.advance(2000);
    expect(h.nft.attempts.map((a) => isFull(a.script))).toEqual([true, true, true]);
    expect(h.nft.attempts[2].script).toMatch(/^table ip6 sluice \{$/m);
    await h.clock.advance(4000);
    expect(h.nft.attempts).toHaveLength(3);
    await h.loop.stop();
  });

  // Found with the stateful fake: when sluice read its table's handle back after a full sync and that
  // read failed, the next full sync was built over what sluice last applied, not over what the kernel
  // had, and flushed sets a table made anew meanwhile did not have (refused). A full sync now knows
  // the table id it wrote.
  test('a table made anew while the tables could not be listed gets a full sync the kernel takes', async () => {
    const h = setUp();
    FakeNft.made.splice(0); // the refusal is this test's own assertion
    h.nft.tableFailures = 1;
    await h.clock.advance(0);
    h.nft.outside(remade('ip'));
    await h.clock.advance(4000);
    expect(h.nft.refused).toEqual([]);
    expect(h.nft.attempts.map((a) => [isFull(a.script), a.ok])).toEqual([[true, true], [true, true], [true, true]]);
    await h.loop.stop();
  });

  test('a table gone entirely is found the same way', async () => {
    const h = setUp();
    await h.clock.advance(0);
    h.nft.outside('delete table ip sluice\n');
    await h.clock.advance(2000);
    expect(h.nft.attempts.map((a) => isFull(a.script))).toEqual([true, true, true]);
    expect(h.nft.attempts[2]).toEqual(h.fullAttempts()[0]);
    await h.loop.stop();
  });

  test('stop() leaves no timer behind and sends nothing more', async () => {
    const h = setUp();
    await h.clock.advance(0);
    h.store.upsert(slice('web', ['10.244.1.11']));
    await h.loop.stop();
    expect(h.clock.pending()).toEqual([]);
    h.store.upsert(slice('web', ['10.244.1.12']));
    await h.clock.advance(10_000);
    expect(h.nft.attempts).toHaveLength(2);
  });
});
