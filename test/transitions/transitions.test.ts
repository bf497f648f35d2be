// Random sequences of changes to a small cluster, each synced by the real SyncLoop into nft inside a
// network namespace. After every step: nft took the transaction, it was partial (full only for the
// first sync, a restart with a new configuration, or the hourly full sync), the kernel's tables
// equal a fresh load of the same state, and ClientIP affinity entries survive. fast-check shrinks a
// failing sequence to a minimal one; test/transitions/FINDINGS.md lists those found.
//
// TRANSITIONS_RUNS (default 300), TRANSITIONS_STEPS (most steps per sequence, default 6),
// TRANSITIONS_SEED (CI: a fixed one), and TRANSITIONS_EXCLUDE (comma-separated kinds of change to leave out, to look
// past a known failure; see arbitraries.ts) tune it by hand.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { nftAvailable } from '../support/netns.ts';
import { arbitraries } from './arbitraries.ts';
import type { ConfigSpec, EndpointSpec, Sequence, ServiceSpec } from './cluster.ts';
import { FreshLoader, Netns } from './netns.ts';
import { runSequence, TransitionFailure, type Kernels } from './sequence.ts';

const available = nftAvailable();
const suite = available.ok ? describe : describe.skip;
const title = available.ok ? 'sync transitions against the real kernel' : `sync transitions against the real kernel (skipped: ${available.reason})`;

const RUNS = Number(process.env.TRANSITIONS_RUNS ?? 300);
const STEPS = Number(process.env.TRANSITIONS_STEPS ?? 6);
// In CI the same sequences every run, so a landing never depends on luck; by hand, new ones each time.
const SEED = process.env.TRANSITIONS_SEED !== undefined ? Number(process.env.TRANSITIONS_SEED) : process.env.CI === 'true' ? 20261201 : undefined;
const EXCLUDE = new Set((process.env.TRANSITIONS_EXCLUDE ?? '').split(',').filter(Boolean));

const CONFIG: ConfigSpec = { masqueradeAll: false, detectLocalMode: 'ClusterCIDR', clusterCIDR: 2, nodePortAddresses: 0 };
const ready = (node: 1 | 2, n: number): EndpointSpec[] => Array.from({ length: n }, () => ({ node, cond: 'ready' }));
const affinityService: ServiceSpec = {
  families: 'dual', ipVariant: 0, type: 'NodePort', ports: [{ name: 'http', nodePort: true }], affinity: 300,
  itp: 'Cluster', etp: 'Cluster', lb: [], ext: [], ranges: [],
};
const initialWithAffinity = {
  services: [affinityService, null, null, null],
  slices: [{ v4: [...ready(1, 1), ...ready(2, 1)], v6: ready(2, 2) }, { v4: null, v6: null }, { v4: null, v6: null }, { v4: null, v6: null }],
  node: { ips: [0], cidrs: [0, 1] },
};

suite(title, () => {
  const tag = `sltr${process.pid}`;
  const kernel = new Netns(`${tag}-sync`);
  const freshNs = new Netns(`${tag}-fresh`);
  const k: Kernels = { kernel, fresh: new FreshLoader(freshNs) };

  beforeAll(async () => {
    await kernel.create();
    await freshNs.create();
  });
  afterAll(async () => {
    await kernel.destroy();
    await freshNs.destroy();
  });

  test('the check fails when the kernel holds something a fresh load does not', async () => {
    const seq: Sequence = { config: CONFIG, initial: initialWithAffinity, steps: [{ changes: [{ op: 'endpoints', svc: 0, family: 'v4', endpoints: ready(1, 3) }] }] };
    const tamper = (l: Record<string, any>, step: number) => {
      if (step !== 1) return l;
      const key = 'set ip sluice cluster-ips';
      return { ...l, [key]: { ...l[key], elem: [...(l[key].elem ?? []), '"10.96.9.9"'].sort() } };
    };
    const err = await runSequence(seq, k, { tamper }).catch((e) => e);
    expect(err).toBeInstanceOf(TransitionFailure);
    expect(err.message).toContain('set ip sluice cluster-ips: elements extra in the kernel: "10.96.9.9"');
    // Untampered, the same sequence passes: the difference was the tampering alone.
    await runSequence(seq, k);
  });

  test('ClientIP affinity entries survive a partial sync that keeps their endpoint', async () => {
    // node1's endpoint stays, node2's goes, a third comes: the set of the one that stays keeps its client.
    await runSequence({
      config: CONFIG, initial: initialWithAffinity,
      steps: [{ changes: [{ op: 'endpoints', svc: 0, family: 'v4', endpoints: [...ready(1, 1), { node: 1, cond: 'unready' }, ...ready(1, 1)] }] }],
    }, k);
  });

  test('ClientIP affinity entries survive the hourly full sync', async () => {
    await runSequence({ config: CONFIG, initial: initialWithAffinity, steps: [{ hour: true }] }, k);
  });

  test('ClientIP affinity entries survive a restart with another configuration', async () => {
    await runSequence({ config: CONFIG, initial: initialWithAffinity, steps: [{ config: { ...CONFIG, masqueradeAll: true } }] }, k);
  });

  test('ClientIP affinity: a new timeout is taken by nft', async () => {
    await runSequence({ config: CONFIG, initial: initialWithAffinity, steps: [{ changes: [{ op: 'affinityTimeout', svc: 0, timeout: 60 }] }] }, k);
  });

  test(`${RUNS} random sequences of up to ${STEPS} steps: every transaction taken, partial, and equal to a fresh load`, async () => {
    const started = Date.now();
    let runs = 0;
    await fc.assert(fc.asyncProperty(arbitraries(EXCLUDE).sequence(STEPS), async (seq) => {
      runs++;
      await runSequence(seq, k);
    }), { numRuns: RUNS, seed: SEED });
    console.log(`transitions: ${runs} sequences in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 900_000);
});
