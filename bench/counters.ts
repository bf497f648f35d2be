// What named counters (KubeProxyConfiguration `counters`) cost nft: the full-load time of bench/synth.ts's
// uniform cluster with and without them, each loaded into a fresh network namespace; the hourly full
// sync over the loaded table (counters kept, lib/nft/inventory.ts); and reading them back as
// /metrics does (`nft -j list counters table ip sluice`, lib/serve/counter-metrics.ts).
// Usage (root): node bench/counters.ts [--services 10000] [--endpoints 10] [--runs 3]
// Prints one JSON line of medians in milliseconds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, type ProxyConfig } from '../lib/config/kube-proxy-config.ts';
import { loadManifests } from '../lib/manifests/load.ts';
import { inventoryOf } from '../lib/nft/inventory.ts';
import { renderRuleset, renderTableChunks } from '../lib/nft/templates.ts';
import { planFromStore } from '../lib/render.ts';
import { writeSyntheticCluster, NODE_NAME } from './synth.ts';

const { values } = parseArgs({ options: { services: { type: 'string', default: '10000' }, endpoints: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' } } });
const services = Number(values.services), endpoints = Number(values.endpoints), runs = Number(values.runs);
const work = mkdtempSync(join(tmpdir(), 'sluice-counters-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timed(ns: string, args: string[]): number {
  const t = performance.now();
  execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
  return performance.now() - t;
}

function inFreshNamespace<T>(fn: (ns: string) => T): T {
  const ns = `slbench-cnt-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try { return fn(ns); } finally { execFileSync('ip', ['netns', 'delete', ns]); }
}

try {
  writeSyntheticCluster(join(work, 'cluster'), { services, endpoints });
  const { store } = loadManifests(join(work, 'cluster'));
  const out: Record<string, unknown> = { services, endpoints, runs };
  for (const enabled of [false, true]) {
    const config: ProxyConfig = { ...DEFAULT_CONFIG, counters: { enabled, maxEndpoints: 64 } };
    const { ruleset } = planFromStore(store, config, NODE_NAME);
    const full = join(work, `full-${enabled}.nft`);
    const again = join(work, `again-${enabled}.nft`);
    writeFileSync(full, renderRuleset(ruleset));
    writeFileSync(again, ruleset.tables.map((t) => [...renderTableChunks(t, { existing: inventoryOf(t) })].join('')).join(''));
    const load: number[] = [], resync: number[] = [], list: number[] = [];
    for (let i = 0; i < runs; i++) {
      inFreshNamespace((ns) => {
        load.push(timed(ns, ['-f', full]));
        resync.push(timed(ns, ['-f', again]));
        if (enabled) list.push(timed(ns, ['-j', 'list', 'counters', 'table', 'ip', 'sluice']));
      });
    }
    const key = enabled ? 'counters' : 'plain';
    out[key] = {
      counters: ruleset.tables.reduce((n, t) => n + (t.counters?.length ?? 0), 0),
      loadMs: Math.round(median(load)), fullSyncOverExistingMs: Math.round(median(resync)),
      ...(enabled ? { listCountersMs: Math.round(median(list)) } : {}),
    };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
