// Named counters (KubeProxyConfiguration `counters`) with real packets: sluice's sync loop writes the lab
// cluster's rules with counters into node1, the client opens a known number of connections, and the
// metrics read from node1's kernel (lib/serve/counter-metrics.ts) count exactly those, per endpoint (as the
// echo servers say who answered) and per service port; the counts survive a partial sync that adds an
// endpoint and a full sync by a new loop over the tables (as a restarted sluice does), and a counter
// whose endpoint went is deleted.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadConfigFile, type ProxyConfig } from '../../lib/config/kube-proxy-config.ts';
import type { Lab } from '../../lab/lab.ts';
import { recordingLogger } from '../../lib/log.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import { execNft, type NftRunner } from '../../lib/nft/runner.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import type { ObjectStore } from '../../lib/objects/store.ts';
import { counterReader, createCounterMetrics } from '../../lib/serve/counter-metrics.ts';
import { SyncLoop, type SyncOutcome } from '../../lib/sync/sync-loop.ts';
import { eventually } from '../support/eventually.ts';
import { LAB_CASE, labAvailable, pod, startLabCluster, tally } from './lab-cluster.ts';

const available = await labAvailable();
if (!available.ok) console.warn(`skipping counter packet tests: ${available.reason}`);
const maybe = available.ok ? describe : describe.skip;

const SPREAD = { proto: 'tcp' as const, host: '10.96.0.1', port: 80 };

maybe('named counters', () => {
  let lab: Lab;
  let tmp: string;
  let nft: NftRunner;
  let store: ObjectStore;
  let loop: SyncLoop | undefined;
  const outcomes: SyncOutcome[] = [];
  const config: ProxyConfig = { ...loadConfigFile(join(LAB_CASE, 'config.yaml'), () => {}), counters: { enabled: true, maxEndpoints: 64 } };

  const startLoop = async () => {
    const before = outcomes.length;
    loop = new SyncLoop({ store, config, nodeName: 'node1', nft, log: recordingLogger(), fullSyncPeriodMs: 3_600_000, onSync: (o) => outcomes.push(o) });
    loop.start();
    return eventually(() => { expect(outcomes.length).toBeGreaterThan(before); return outcomes.at(-1)!; }, { timeoutMs: 30_000 });
  };

  /** The three metrics as read now from node1's kernel: endpoint address:port (or `service`) to count. */
  const read = async () => {
    const registry = new Registry();
    const m = createCounterMetrics(registry, counterReader((f) => nft.listCounters!(f)));
    await m.refresh();
    const out: Record<string, number> = {};
    for (const metric of await registry.getMetricsAsJSON()) {
      for (const v of metric.values) {
        const l = v.labels as Record<string, string>;
        if (l.namespace !== 'lab' || l.service !== 'spread' || l.port !== '80') continue;
        out[`${metric.name} ${l.endpoint ?? ''}`.trim()] = v.value;
      }
    }
    return out;
  };
  const endpointOf = (name: string) => `${pod(lab, name).ipv4}:9376`;
  /** What the counters should say after these answers, on top of `base`. */
  const expected = (base: Record<string, number>, answers: Record<string, number>, total: number, bytes: number) => {
    const out = { ...base };
    for (const [p, n] of Object.entries(answers)) out[`sluice_endpoint_new_connections_total ${endpointOf(p)}`] = (out[`sluice_endpoint_new_connections_total ${endpointOf(p)}`] ?? 0) + n;
    out.sluice_service_new_connections_total = (out.sluice_service_new_connections_total ?? 0) + total;
    out.sluice_service_new_connection_bytes_total = bytes;
    return out;
  };

  beforeAll(async () => {
    lab = await startLabCluster();
    tmp = mkdtempSync(join(tmpdir(), 'sluice-counters-'));
    const wrapper = join(tmp, 'nft');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec '${lab.node1.ns}' nft "$@"\n`);
    chmodSync(wrapper, 0o755);
    nft = execNft({ nft: wrapper });
    store = loadManifests(join(LAB_CASE, 'manifests')).store;
  }, 120_000);
  afterAll(async () => {
    await loop?.stop();
    await lab?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('count each new connection once, per endpoint and per service port, through syncs', async () => {
    // The lab's rules (no counters) are in node1; this loop's first sync is a full one over them.
    expect((await startLoop()).kind).toBe('full');
    expect(await read()).toEqual({
      'sluice_endpoint_new_connections_total 10.244.1.11:9376': 0, 'sluice_endpoint_new_connections_total 10.244.1.12:9376': 0,
      'sluice_endpoint_new_connections_total 10.244.2.11:9376': 0, 'sluice_endpoint_new_connections_total 10.244.2.12:9376': 0,
      sluice_service_new_connections_total: 0, sluice_service_new_connection_bytes_total: 0,
    });

    const first = await lab.probe(lab.client, SPREAD, { count: 40 });
    expect(first.answers).toHaveLength(40);
    const afterFirst = await read();
    // A TCP SYN without options is 40 bytes or more; the kernel says exactly how many, the test only that they add up.
    const synBytes = afterFirst.sluice_service_new_connection_bytes_total;
    expect(synBytes).toBeGreaterThanOrEqual(40 * 40);
    expect(afterFirst).toEqual(expected({}, tally(first), 40, synBytes));

    // Partial sync: a fifth endpoint comes; the chains are rewritten, the four counters keep their counts.
    await lab.addPod('pa3', 'node1', 13);
    const slice = structuredClone(store.get('EndpointSlice', 'lab/spread-1')) as KubeObject & { endpoints: { addresses: string[]; nodeName: string }[] };
    slice.endpoints.push({ addresses: [pod(lab, 'pa3').ipv4], nodeName: 'node1' });
    const n = outcomes.length;
    store.upsert(slice);
    await eventually(() => expect(outcomes.length).toBeGreaterThan(n), { timeoutMs: 10_000 });
    expect(outcomes.at(-1)!.kind).toBe('partial');
    expect(outcomes.at(-1)!.script).toMatch(/^add counter ip sluice cnt\/lab\/spread\/tcp\/80\/10\.244\.1\.13_9376$/m);
    const afterPartial = await read();
    expect(afterPartial).toEqual({ ...afterFirst, 'sluice_endpoint_new_connections_total 10.244.1.13:9376': 0 });

    const second = await lab.probe(lab.client, SPREAD, { count: 50 });
    expect(second.answers).toHaveLength(50);
    expect(tally(second).pa3).toBeGreaterThan(0);
    const afterSecond = await read();
    expect(afterSecond).toEqual(expected(afterPartial, tally(second), 50, afterSecond.sluice_service_new_connection_bytes_total));

    // Full sync by a new loop (a restarted sluice): what the kernel holds is listed, counters included;
    // the ones still wanted keep counting, the one whose endpoint went is deleted.
    await loop!.stop();
    loop = undefined;
    slice.endpoints = slice.endpoints.filter((e) => e.addresses[0] !== '10.244.2.12');
    store.upsert(structuredClone(slice));
    const full = await startLoop();
    expect(full.kind).toBe('full');
    expect(full.ok).toBe(true);
    const afterFull = await read();
    const { ['sluice_endpoint_new_connections_total 10.244.2.12:9376']: gone, ...kept } = afterSecond;
    expect(gone).toBeGreaterThan(0);
    expect(afterFull).toEqual(kept);

    const third = await lab.probe(lab.client, SPREAD, { count: 30 });
    expect(third.answers).toHaveLength(30);
    expect(tally(third).pb2).toBeUndefined();
    const afterThird = await read();
    expect(afterThird).toEqual(expected(afterFull, tally(third), 30, afterThird.sluice_service_new_connection_bytes_total));
  }, 180_000);
});
