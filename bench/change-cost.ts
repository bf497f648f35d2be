// What one endpoint change costs sluice in process, at three cluster sizes: the real SyncLoop over an
// ObjectStore filled with bench/synth.ts's realistic mix, nft replaced by a runner that takes every
// script at once. After the first (full) sync, CHANGES single-endpoint changes (one EndpointSlice's
// first address changed, services spread over the cluster) are synced one at a time; each sync's
// phases (SyncOutcome.phasesMs) and its total (from the store's upsert to the loop being idle) are
// recorded. No root, no nft. The answer to issue #13 is a flat line: the same cost at every size.
//
// Usage: node bench/change-cost.ts [--sizes 1000x10,10000x10,44000x1] [--changes 60] [--json FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, type ProxyConfig } from '../lib/config/kube-proxy-config.ts';
import type { Clock } from '../lib/clock.ts';
import { createLogger } from '../lib/log.ts';
import type { NftRunner } from '../lib/nft/runner.ts';
import { slimObject, type ObjectKind } from '../lib/objects/objects.ts';
import { ObjectStore } from '../lib/objects/store.ts';
import { createMetrics } from '../lib/serve/metrics.ts';
import { SyncLoop, type SyncOutcome } from '../lib/sync/sync-loop.ts';
import { median, percentile, round } from './stats.ts';
import { endpointSlices, NODE_NAME, nodeObject, podAddress, service, type SynthOptions } from './synth.ts';

const PHASES = ['model', 'plan', 'diff', 'render'] as const;
type Sample = Record<(typeof PHASES)[number] | 'total', number>;

/** Takes every script at once, as a kernel that agrees with everything. */
const acceptingNft: NftRunner = {
  async apply(script) {
    if (typeof script !== 'string') for (const _ of script.chunks()); // a full sync's script is made as nft reads it
  },
  async tables() { return [{ family: 'ip', name: 'sluice', handle: 1 }, { family: 'ip6', name: 'sluice', handle: 1 }]; },
  async inventory() { return undefined; },
};

/**
 * Real time, but a timer due now runs on the next turn of the event loop rather than after Node's
 * 1 ms minimum: the sync a change asks for starts at once, and the wait is not counted as its cost.
 */
const promptClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => (ms <= 0 ? { immediate: setImmediate(fn) } : { timeout: setTimeout(fn, ms) }),
  clearTimeout: (h) => {
    const handle = h as { immediate?: NodeJS.Immediate; timeout?: NodeJS.Timeout } | undefined;
    if (handle?.immediate) clearImmediate(handle.immediate);
    if (handle?.timeout) clearTimeout(handle.timeout);
  },
};

export interface SizeResult { services: number; endpoints: number; servicePorts: number; firstSyncMs: number; median: Sample; p99: Sample }

export async function measureSize(services: number, endpoints: number, changes: number): Promise<SizeResult> {
  const opts: SynthOptions = { services, endpoints, mix: 'realistic' };
  const store = new ObjectStore();
  const put = (kind: ObjectKind, raw: unknown) => store.upsert(slimObject(kind, raw));
  put('Node', nodeObject());
  for (let i = 0; i < services; i++) {
    put('Service', service(i, opts));
    for (const s of endpointSlices(i, opts)) put('EndpointSlice', s);
  }
  for (const kind of ['Service', 'EndpointSlice', 'Endpoints', 'Node', 'ServiceCIDR'] as const) store.synced(kind);

  // minSyncPeriod 0: each change is synced as soon as the loop is free; the benchmark waits for it.
  const config: ProxyConfig = { ...DEFAULT_CONFIG, minSyncPeriodMs: 0 };
  const outcomes: SyncOutcome[] = [];
  let reconciles = 0;
  const loop = new SyncLoop({
    store, config, nodeName: NODE_NAME, nft: acceptingNft, clock: promptClock, log: createLogger({ level: 'error' }), metrics: createMetrics({ families: ['IPv4', 'IPv6'] }),
    conntrack: { async reconcile() { reconciles++; return { deleted: { IPv4: 0, IPv6: 0 } }; } },
    onSync: (o) => outcomes.push(o),
  });
  const synced = async () => {
    // The loop's timer (due now) fires on the next turn, before this one; then the sync runs to the end.
    await new Promise((resolve) => setImmediate(resolve));
    await loop.idle();
  };
  let at = performance.now();
  loop.start();
  await synced();
  const firstSyncMs = performance.now() - at;
  if (outcomes.length !== 1 || outcomes[0].kind !== 'full' as SyncOutcome['kind']) throw new Error(`expected one full sync first, got ${outcomes.map((o) => o.kind).join(', ')}`);
  const servicePorts = outcomes[0].model.servicePorts.length;

  const samples: Sample[] = [];
  for (let k = 0; k < changes; k++) {
    // Spread over the cluster, a new address each time (beyond every pod address the cluster uses).
    const i = Math.floor(((k + 0.5) * services) / changes);
    const slice = endpointSlices(i, opts, podAddress(services * endpoints + k))[0];
    outcomes.length = 0;
    at = performance.now();
    put('EndpointSlice', slice);
    await synced();
    const total = performance.now() - at;
    if (outcomes.length !== 1 || outcomes[0].kind !== 'partial' || !outcomes[0].ok) throw new Error(`change ${k}: expected one partial sync, got ${outcomes.map((o) => `${o.kind} ${o.ok}`).join(', ')}`);
    samples.push({ ...outcomes[0].phasesMs, total });
  }
  await loop.stop();
  const summary = (f: (xs: number[]) => number) => Object.fromEntries(['total', ...PHASES].map((p) => [p, round(f(samples.map((s) => s[p as keyof Sample])), 2)])) as Sample;
  void reconciles;
  return { services, endpoints, servicePorts, firstSyncMs: round(firstSyncMs, 0), median: summary(median), p99: summary((xs) => percentile(xs, 99)) };
}

function table(results: SizeResult[]): string {
  const head = '| cluster | service ports | first sync ms | ' + ['total', ...PHASES].map((p) => `${p} p50 / p99`).join(' | ') + ' |';
  const rows = results.map((r) => `| ${r.services}×${r.endpoints} | ${r.servicePorts} | ${r.firstSyncMs} | `
    + ['total', ...PHASES].map((p) => `${r.median[p as keyof Sample]} / ${r.p99[p as keyof Sample]}`).join(' | ') + ' |');
  return [head, head.replace(/[^|]+/g, '---'), ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000x10,10000x10,44000x1' }, changes: { type: 'string', default: '60' }, json: { type: 'string' } } });
  const changes = Number(values.changes);
  if (!(changes >= 1)) throw new Error('--changes must be at least 1');
  const results: SizeResult[] = [];
  for (const size of values.sizes!.split(',')) {
    const [s, e] = size.split('x').map(Number);
    results.push(await measureSize(s, e, changes));
    console.error(`${size}: done`);
  }
  console.log(table(results));
  const first = results[0], last = results[results.length - 1];
  if (results.length > 1) {
    console.log(`\nratio ${last.services}×${last.endpoints} / ${first.services}×${first.endpoints}: total p50 ${round(last.median.total / first.median.total, 2)}, p99 ${round(last.p99.total / first.p99.total, 2)}; `
      + PHASES.map((p) => `${p} p50 ${round(last.median[p] / first.median[p], 2)}`).join(', '));
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
}
