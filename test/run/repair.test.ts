// sluice run keeps node1's rules right when things go wrong: its table deleted by hand, an nft call
// that fails, sluice killed (SIGKILL) in the middle of applying a transaction. sluice runs with an
// `nft` of the test's first on its PATH (support/kernel.ts nftWrapper), which runs the real nft
// unless told to fail or to sleep first.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, labAvailable, type Lab } from '../../lab/lab.ts';
import { kernelListing, listingOf, nftWrapper, within, type Listing } from './support/kernel.ts';
import { createWorkspace, removeManifest, renderFolder, serviceYaml, writeManifest, type Backend, type Workspace } from './support/manifests.ts';
import { killAllSluices, startSluice, type SluiceProcess } from './support/sluice-process.ts';

const available = await labAvailable();
if (!available.ok) console.warn(`skipping sluice run repair tests: ${available.reason}`);
const maybe = available.ok ? describe : describe.skip;
const skipNote = available.ok ? '' : ` (skipped: ${available.reason})`;

const PA1: Backend = { ip: '10.244.1.11', node: 'node1' };
const PB1: Backend = { ip: '10.244.2.11', node: 'node2' };
const web = (backends: Backend[]) => serviceYaml({ name: 'web', clusterIP: '10.96.0.10', port: 80, targetPort: 9376, backends });

/** Many services in one file: their transaction (about 400 kB) is larger than any pipe or socket buffer. */
function bulk(n: number): string {
  let text = '';
  for (let i = 0; i < n; i++) {
    text += `---\n${serviceYaml({ name: `bulk-${i}`, clusterIP: `10.97.${i >> 8}.${i & 255}`, port: 80, targetPort: 9376, backends: [PA1, PB1] })}`;
  }
  return text;
}

maybe(`sluice run repairs and survives${skipNote}`, () => {
  let lab: Lab;
  let ws: Workspace;
  let wrapper: { bin: string; control: string };
  let sluice: SluiceProcess;
  const timings: Record<string, number> = {};
  const start = () => startSluice({ ns: lab.node1.ns, args: ['--from', ws.manifests, '--config', ws.configFile], pathFirst: [wrapper.bin] });
  /** What loading `sluice render` of the manifests as they are now leaves. */
  const expected = () => listingOf(renderFolder(ws.manifests, ws.config));
  const node1 = () => kernelListing(lab.node1.ns);
  const answered = async () => {
    const r = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.0.10', port: 80 }, { count: 5 });
    expect(r.answers).toHaveLength(5);
  };

  beforeAll(async () => {
    lab = await createLab({ pods: [{ name: 'pa1', node: 'node1', index: 11 }, { name: 'pb1', node: 'node2', index: 11 }], tcpPorts: [9376], udpPorts: [] });
    ws = createWorkspace({ syncPeriod: '2s', minSyncPeriod: '200ms' });
    wrapper = nftWrapper(join(ws.root, 'nft'));
    writeManifest(ws.manifests, 'web.yaml', web([PA1, PB1]));
    sluice = start();
    await sluice.nextSync(0, 'full');
  });

  afterEach(() => {
    for (const f of ['fail-next', 'sleep-next']) if (existsSync(join(wrapper.control, f))) removeManifest(wrapper.control, f);
  });

  afterAll(async () => {
    await killAllSluices();
    await lab?.destroy();
    ws?.remove();
    console.log(`sluice run repair timings (ms): ${JSON.stringify(timings)}`);
  });

  test('its table deleted by hand is put back whole within syncPeriod', async () => {
    const want = expected();
    expect(await node1()).toEqual(want);
    const mark = sluice.logs.length;
    const del = await lab.exec(lab.node1.ns, 'nft', ['delete', 'table', 'ip', 'sluice']);
    expect(del.exitCode).toBe(0);
    timings.tableDeletedToRepaired = await within(4000, async () => expect(await node1()).toEqual(want));
    // The periodic check comes at most syncPeriod (2 s) after the deletion; then one full sync.
    expect(timings.tableDeletedToRepaired).toBeLessThanOrEqual(2000 + 1000);
    const found = await sluice.waitFor((l) => l.msg === 'sluice\'s table was changed outside sluice; syncing it whole', { after: mark });
    await sluice.nextSync(sluice.indexOf(found) + 1, 'full');
    expect(sluice.lines('full sync: writing the table whole').at(-1)).toMatchObject({ reason: 'table changed outside sluice' });
    await answered();
    await sluice.quiet();
  });

  test('a change made just after the table was deleted does not wait for the periodic check', async () => {
    const mark = sluice.logs.length;
    expect((await lab.exec(lab.node1.ns, 'nft', ['delete', 'table', 'ip', 'sluice'])).exitCode).toBe(0);
    writeManifest(ws.manifests, 'web.yaml', web([PB1]));
    const want = expected();
    // The partial transaction finds no table and fails; the full sync after it puts everything back.
    timings.tableDeletedAndEditedToRepaired = await within(4000, async () => expect(await node1()).toEqual(want));
    expect(timings.tableDeletedAndEditedToRepaired).toBeLessThan(1500);
    await sluice.quiet();
    expect(sluice.logs.slice(mark).map((l) => l.msg)).toEqual(expect.arrayContaining(['nft rejected the sync; the next sync of this family is a full one', 'full sync']));
    await answered();
    writeManifest(ws.manifests, 'web.yaml', web([PA1, PB1]));
    const restored = expected();
    await within(4000, async () => expect(await node1()).toEqual(restored));
    await sluice.quiet();
  });

  test('an nft call that fails is followed, after minSyncPeriod, by a full sync that succeeds', async () => {
    writeFileSync(join(wrapper.control, 'fail-next'), '');
    const mark = sluice.logs.length;
    writeManifest(ws.manifests, 'web.yaml', web([PA1]));
    const failed = await sluice.waitFor((l) => l.msg === 'nft rejected the sync; the next sync of this family is a full one', { after: mark });
    expect(failed).toMatchObject({ level: 'error', kind: 'partial' });
    const full = await sluice.nextSync(sluice.indexOf(failed) + 1, 'full');
    timings.failureToFullSync = full.seenAt - failed.seenAt;
    expect(sluice.lines('full sync: writing the table whole').at(-1)).toMatchObject({ reason: 'the previous sync failed' });
    expect(await node1()).toEqual(expected());
    await answered();
  });

  test('when the very first nft call fails, the first sync is retried until the rules are in', async () => {
    expect(await sluice.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    writeManifest(ws.manifests, 'web.yaml', web([PA1, PB1]));
    writeFileSync(join(wrapper.control, 'fail-next'), '');
    sluice = start();
    const failed = await sluice.waitFor((l) => l.msg === 'nft rejected the sync; the next sync of this family is a full one');
    expect(failed).toMatchObject({ kind: 'full' });
    await sluice.nextSync(0, 'full');
    expect(await node1()).toEqual(expected());
    await answered();
  });

  test('SIGTERM in the middle of an apply lets nft finish, then exits 0 with the new rules in place', async () => {
    writeFileSync(join(wrapper.control, 'sleep-next'), '1');
    const mark = sluice.logs.length;
    writeManifest(ws.manifests, 'web.yaml', web([PB1]));
    const want = expected();
    await within(5000, () => expect(existsSync(join(wrapper.control, 'sleeping'))).toBe(true), 5);
    expect(await sluice.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(existsSync(join(wrapper.control, 'applied'))).toBe(true);
    expect(sluice.logs.slice(mark).map((l) => l.msg)).toEqual(expect.arrayContaining(['partial sync', 'stopping; the rules stay in place']));
    expect(await node1()).toEqual(want);
    removeManifest(wrapper.control, 'applied');
    removeManifest(wrapper.control, 'sleeping');
    writeManifest(ws.manifests, 'web.yaml', web([PA1, PB1]));
    sluice = start();
    await sluice.nextSync(0, 'full');
    expect(await node1()).toEqual(expected());
  });

  test('sluice killed in the middle of a partial transaction leaves the old rules or the new ones, never a mix', async () => {
    const before = await node1();
    expect(before).toEqual(expected());
    writeFileSync(join(wrapper.control, 'sleep-next'), '1');
    writeManifest(ws.manifests, 'bulk.yaml', bulk(1000));
    const after = expected();
    // The transaction is handed to nft, which sleeps a second before it reads it: kill sluice then.
    await within(5000, () => expect(existsSync(join(wrapper.control, 'sleeping'))).toBe(true), 5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    sluice.signal('SIGKILL');
    expect(await sluice.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The nft sluice started outlives it; once it is done the kernel holds one version or the other.
    await within(15_000, () => expect(existsSync(join(wrapper.control, 'applied'))).toBe(true));
    const left = await node1();
    expect(sameAsOneOf(left, [before, after])).toBe(true);
    // (With execNft handing nft a complete file, nft got the whole transaction: the new rules.)
    expect(left).toEqual(after);

    // Started again, sluice replaces the tables whole with what the manifests say.
    removeManifest(wrapper.control, 'applied');
    removeManifest(wrapper.control, 'sleeping');
    sluice = start();
    await sluice.nextSync(0, 'full', 15_000);
    expect(await node1()).toEqual(after);
    await answered();
  });

  test('sluice killed in the middle of its first, full, sync leaves the old rules or the new ones, never a mix', async () => {
    expect(await sluice.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const before = await node1();
    removeManifest(ws.manifests, 'bulk.yaml');
    writeManifest(ws.manifests, 'web.yaml', web([PB1]));
    const after = expected();
    writeFileSync(join(wrapper.control, 'sleep-next'), '1');
    sluice = start();
    await within(10_000, () => expect(existsSync(join(wrapper.control, 'sleeping'))).toBe(true), 5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    sluice.signal('SIGKILL');
    await sluice.exited;
    await within(15_000, () => expect(existsSync(join(wrapper.control, 'applied'))).toBe(true));
    const left = await node1();
    expect(sameAsOneOf(left, [before, after])).toBe(true);
    sluice = start();
    await sluice.nextSync(0, 'full');
    expect(await node1()).toEqual(after);
    await answered();
  });
});

function sameAsOneOf(listing: Listing, versions: Listing[]): boolean {
  return versions.some((v) => JSON.stringify(v) === JSON.stringify(listing));
}
