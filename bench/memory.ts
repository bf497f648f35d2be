// The memory benchmark (issue #13): peak RSS (VmHWM) and the live heap after a full collection, for
// `sluice render` and for `sluice run` (bench/memory-run.ts: the real source and sync loop, an nft
// runner that keeps nothing) from a manifests folder and from the fake API server, on bench/synth.ts
// clusters (realistic mix, Lists of 1,000). One line per measurement; with --heap-profile, where the
// live heap was allocated (bench/heap-top.ts) for each.
//
//   node bench/memory.ts [--sizes 10000x10,44000x1] [--what render,manifests,api] [--changes 10]
//                        [--flags='FLAGS;FLAGS;…'] [--heap-profile] [--top 15] [--work-dir bench/out]
//
// In --what, `api-served` is the fake API server serving objects as a real one does (managedFields,
// last-applied-configuration, selectors, targetRefs: bench/synth.ts asServed).
// --flags=SETS: node flag sets to compare, `;` between sets (default: cmd/sluice.ts's #! line; `-` is
// none). --expose-gc is always added: the measurement collects before reading the heap (sluice's
// own flags have it too, lib/sync/heap.ts). Every number of one size comes from the same run.
// Columns: peak RSS is the process's VmHWM (render: GNU time's %M; run: read by the process itself
// after the changes, which leaves out the fake API server, its child); RSS at end, live heap (heapUsed after a
// full collection) and V8's heap (heapTotal, its young generation in brackets) are read at exit
// (render) or after the endpoint changes (run); time is render's wall time or run's start to its
// first full sync; GC is run's time in garbage collection until then (PerformanceObserver 'gc').
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext, NODE, REPO, shebangFlags, SLUICE, writeBenchConfig } from './context.ts';
import { heapSummary } from './heap-top.ts';
import type { MemorySnapshot } from './memory-probe.ts';
import { cleanUpAll, installSignalHandlers, runTimedOk } from './proc.ts';
import { renderArgs, writeCluster } from './render-floor.ts';

const PROBE = join(REPO, 'bench', 'memory-probe.ts');
const RUN = join(REPO, 'bench', 'memory-run.ts');

interface Row {
  size: string;
  flags: string;
  what: string;
  /** VmHWM of the sluice process (render: GNU time's %M) */
  peakMiB: number;
  /** at the end (render: at exit; run: after the changes) */
  rssMiB: number;
  liveHeapMiB: number;
  heapTotalMiB: number;
  youngMiB: number;
  seconds: number;
  /** run: time in garbage collection, start to the end of the changes (the snapshots' own excepted) */
  gcMs?: number;
  profile?: string;
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

function fromSnapshot(s: MemorySnapshot): Pick<Row, 'rssMiB' | 'liveHeapMiB' | 'heapTotalMiB' | 'youngMiB'> {
  return { rssMiB: Math.round(s.vmRSSKiB / 1024), liveHeapMiB: mib(s.heapUsed), heapTotalMiB: mib(s.heapTotal), youngMiB: mib(s.spaces.new_space?.size ?? 0) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10000x10,44000x1' },
      what: { type: 'string', default: 'render,manifests,api' },
      changes: { type: 'string', default: '10' },
      flags: { type: 'string' },
      'heap-profile': { type: 'boolean', default: false },
      top: { type: 'string', default: '15' },
      'work-dir': { type: 'string', default: join(REPO, 'bench', 'out') },
    },
  });
  installSignalHandlers();
  const ctx = createContext(values['work-dir']!, 'mm');
  const config = writeBenchConfig(ctx);
  const flagSets = (values.flags ?? shebangFlags(SLUICE).join(' ')).split(';')
    .map((set) => set.trim() === '-' ? [] : set.trim().split(/\s+/).filter((f) => f !== ''))
    .map((set) => (set.includes('--expose-gc') ? set : [...set, '--expose-gc']));
  const whats = values.what!.split(',');
  const rows: Row[] = [];
  for (const size of values.sizes!.split(',')) {
    const [services, endpoints] = size.split('x').map(Number);
    const opts = { services, endpoints, mix: 'realistic', layout: 'lists', perFile: 1000 } as const;
    let gen = writeCluster(ctx, opts);
    ctx.progress(`${size}: cluster written to ${gen.dir}`);
    for (const flags of flagSets) {
      for (const what of whats) {
        // Each measurement starts from the same files: a run's endpoint changes are written to them.
        gen = writeCluster(ctx, opts);
        const tag = `${size}-${what}-${rows.length}`;
        const profile = values['heap-profile'] ? join(ctx.workDir, `memory-${tag}.heapprofile`) : undefined;
        const row: Row = { size, flags: flags.join(' '), what, peakMiB: 0, rssMiB: 0, liveHeapMiB: 0, heapTotalMiB: 0, youngMiB: 0, seconds: 0, profile };
        if (what === 'render') {
          const snapshot = join(ctx.workDir, `memory-${tag}.json`);
          process.env.SLUICE_MEMORY_OUT = snapshot;
          const heapProf = profile ? ['--heap-prof', `--heap-prof-dir=${join(ctx.workDir, `heap-${tag}`)}`] : [];
          const r = await runTimedOk(NODE, [...flags, ...heapProf, '--import', PROBE, ...renderArgs(SLUICE, gen.dir, config)], { stdoutFile: '/dev/null', peakRss: true, timeoutMs: 15 * 60_000 });
          delete process.env.SLUICE_MEMORY_OUT;
          Object.assign(row, fromSnapshot(JSON.parse(readFileSync(snapshot, 'utf8'))), { peakMiB: Math.round(r.peakRssKiB! / 1024), seconds: r.wallMs / 1000 });
          if (profile) row.profile = join(ctx.workDir, `heap-${tag}`);
        } else {
          const source = what === 'api-served' ? 'api' : what;
          const r = await runTimedOk(NODE, [...flags, RUN, gen.dir, '--source', source, ...(what === 'api-served' ? ['--as-served'] : []), '--config', config, '--services', String(services), '--endpoints', String(endpoints),
            '--changes', values.changes!, ...(profile ? ['--heap-profile', profile] : [])], { peakRss: true, timeoutMs: 15 * 60_000 });
          const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
          // The process's own VmHWM, not GNU time's %M: that is the largest of the process and the
          // children it waited for, and the fake API server (its child) can be the larger.
          Object.assign(row, fromSnapshot(out.afterChanges), { peakMiB: Math.round(out.afterChanges.vmHWMKiB / 1024), seconds: out.firstSyncMs / 1000, gcMs: out.gcMs });
          ctx.progress(`  after the first sync: RSS ${Math.round(out.afterFirstSync.vmRSSKiB / 1024)} MiB, peak ${Math.round(out.afterFirstSync.vmHWMKiB / 1024)} MiB, live heap ${mib(out.afterFirstSync.heapUsed)} MiB; changes ${out.changeMs.map((m: number) => Math.round(m)).join(' ')} ms`);
        }
        rows.push(row);
        ctx.progress(`  ${size} ${what} [${row.flags}]: peak RSS ${row.peakMiB} MiB, RSS at end ${row.rssMiB}, live heap ${row.liveHeapMiB} of ${row.heapTotalMiB} (young ${row.youngMiB}), ${what === 'render' ? 'wall' : 'first sync'} ${row.seconds.toFixed(2)} s`);
      }
    }
    rmSync(gen.dir, { recursive: true, force: true });
  }
  const lines = ['| size | node flags | what | peak RSS | RSS at end | live heap after GC | V8 heap (young) | time | GC |', '|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.size} | \`${r.flags}\` | ${r.what === 'render' ? 'render' : `run (${r.what})`} | ${r.peakMiB} MiB | ${r.rssMiB} MiB | ${r.liveHeapMiB} MiB | ${r.heapTotalMiB} MiB (${r.youngMiB}) | ${r.seconds.toFixed(2)} s | ${r.gcMs === undefined ? '' : `${Math.round(r.gcMs)} ms`} |`);
  process.stdout.write(lines.join('\n') + '\n');
  for (const r of rows) {
    if (!r.profile) continue;
    const file = r.what === 'render' ? join(r.profile, readdirOne(r.profile)) : r.profile;
    const s = heapSummary(JSON.parse(readFileSync(file, 'utf8')).head, Number(values.top));
    process.stdout.write(`\n${r.size} ${r.what} [${r.flags}]: sampled live ${mib(s.totalBytes)} MiB ${r.what === 'render' ? 'at exit' : 'after the first full sync'}, by function (inclusive):\n`);
    for (const [k, v] of s.byFunction) process.stdout.write(`  ${(v / 2 ** 20).toFixed(1).padStart(6)} MiB  ${k}\n`);
  }
}

function readdirOne(dir: string): string {
  return readdirSync(dir).find((f) => f.endsWith('.heapprofile'))!;
}

main().then(() => cleanUpAll(), async (e) => {
  process.stderr.write(`memory: ${(e as Error).stack ?? e}\n`);
  await cleanUpAll();
  process.exit(1);
});
