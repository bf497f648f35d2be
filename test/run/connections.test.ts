// `sluice run --from DIR` on node1 of the lab while a client opens connection after connection to a
// cluster IP: editing the manifests or restarting sluice must never cost a connection.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { createLab, labAvailable, type Lab } from '../../lab/lab.ts';
import { kernelListing, within } from './support/kernel.ts';
import { createWorkspace, serviceYaml, writeManifest, type Backend, type Workspace } from './support/manifests.ts';
import { backends, failures, killAllProbers, startProber, type Attempt } from './support/prober-process.ts';
import { killAllSluices, startSluice, type SluiceProcess } from './support/sluice-process.ts';

const available = await labAvailable();
if (!available.ok) console.warn(`skipping sluice run connection tests: ${available.reason}`);
const maybe = available.ok ? describe : describe.skip;
const skipNote = available.ok ? '' : ` (skipped: ${available.reason})`;

const PA1: Backend = { ip: '10.244.1.11', node: 'node1' };
const PA2: Backend = { ip: '10.244.1.12', node: 'node1' };
const PB1: Backend = { ip: '10.244.2.11', node: 'node2' };
const web = (backends: Backend[]) => serviceYaml({ name: 'web', clusterIP: '10.96.0.10', port: 80, targetPort: 9376, backends });
const TARGET = { host: '10.96.0.10', port: 80 };

async function ipTable(lab: Lab): Promise<string> {
  return (await lab.exec(lab.node1.ns, 'nft', ['list', 'table', 'ip', 'sluice'])).stdout;
}

const startedAfter = (t: number) => (a: Attempt) => a.start >= t;

maybe(`sluice run, a client connecting all the while${skipNote}`, () => {
  let lab: Lab;
  let ws: Workspace;
  let sluice: SluiceProcess;
  const timings: Record<string, number> = {};
  const start = () => startSluice({ ns: lab.node1.ns, args: ['--from', ws.manifests, '--config', ws.configFile] });

  beforeAll(async () => {
    lab = await createLab({
      pods: [{ name: 'pa1', node: 'node1', index: 11 }, { name: 'pa2', node: 'node1', index: 12 }, { name: 'pb1', node: 'node2', index: 11 }],
      tcpPorts: [9376], udpPorts: [],
    });
    ws = createWorkspace();
    writeManifest(ws.manifests, 'web.yaml', web([PA1, PB1]));
    sluice = start();
    await sluice.nextSync(0, 'full');
  });

  afterEach(() => killAllProbers());

  afterAll(async () => {
    killAllProbers();
    await killAllSluices();
    await lab?.destroy();
    ws?.remove();
    console.log(`sluice run timings (ms): ${JSON.stringify(timings)}`);
  });

  test('adding a backend loses no connection, and new connections reach it once the sync is done', async () => {
    const prober = startProber(lab.client.ns, TARGET);
    await prober.more(20);
    const mark = sluice.logs.length;
    const editedAt = Date.now();
    writeManifest(ws.manifests, 'web.yaml', web([PA1, PB1, PA2]));
    timings.addEditToKernel = await within(3000, async () => expect(await ipTable(lab)).toContain(PA2.ip));
    const sync = await sluice.nextSync(mark, 'partial');
    timings.addEditToSyncLogged = sync.seenAt - editedAt;
    await prober.until((a) => a.backend === 'pa2' && a.start > sync.seenAt);
    await prober.more(30);
    const attempts = await prober.stop();
    expect(failures(attempts)).toEqual([]);
    expect(Object.keys(backends(attempts.filter(startedAfter(sync.seenAt)))).sort()).toEqual(['pa1', 'pa2', 'pb1']);
    expect(attempts.filter((a) => a.end < editedAt).some((a) => a.backend === 'pa2')).toBe(false);
  });

  test('removing a backend loses no connection, and no connection made after the sync reaches it', async () => {
    const prober = startProber(lab.client.ns, TARGET);
    await prober.until((a) => a.backend === 'pb1');
    const mark = sluice.logs.length;
    const editedAt = Date.now();
    writeManifest(ws.manifests, 'web.yaml', web([PA1, PA2]));
    const sync = await sluice.nextSync(mark, 'partial');
    timings.removeEditToSyncLogged = sync.seenAt - editedAt;
    expect(await ipTable(lab)).not.toContain(PB1.ip);
    await prober.more(60);
    const attempts = await prober.stop();
    expect(failures(attempts)).toEqual([]);
    const after = attempts.filter(startedAfter(sync.seenAt));
    expect(after.length).toBeGreaterThanOrEqual(60);
    expect(backends(after)).toEqual({ pa1: expect.any(Number), pa2: expect.any(Number) });
  });

  test('restarting sluice (SIGTERM, then start again) leaves the rules in place and loses no connection', async () => {
    const before = await kernelListing(lab.node1.ns);
    const prober = startProber(lab.client.ns, TARGET);
    await prober.more(20);

    const signalledAt = Date.now();
    const exit = await sluice.stop('SIGTERM');
    timings.sigtermToExit = Date.now() - signalledAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(sluice.lines('stopping; the rules stay in place', { signal: 'SIGTERM' })).toHaveLength(1);
    expect(await kernelListing(lab.node1.ns)).toEqual(before);

    // No sluice at all for a moment: the kernel keeps forwarding.
    const gapStart = Date.now();
    await within(10_000, () => expect(prober.attempts.filter((a) => a.start >= gapStart).length).toBeGreaterThanOrEqual(20));
    const restartedAt = Date.now();
    sluice = start();
    const sync = await sluice.nextSync(0, 'full');
    timings.startToFirstSync = sync.seenAt - restartedAt;
    await prober.more(20);
    const attempts = await prober.stop();

    expect(failures(attempts)).toEqual([]);
    expect(attempts.filter((a) => a.start >= gapStart && a.end <= restartedAt).length).toBeGreaterThanOrEqual(20);
    // The first sync of the new process replaced the tables whole, with the same rules.
    expect(await kernelListing(lab.node1.ns)).toEqual(before);
    expect(Object.keys(backends(attempts.filter(startedAfter(sync.seenAt)))).sort()).toEqual(['pa1', 'pa2']);
  });
});
