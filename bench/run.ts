// `make bench`: sluice's benchmarks on this machine, progress on stderr, results in bench/results.json
// and the generated block of BENCHMARKS.md.
//
//   node bench/run.ts [--sizes 1000x10,10000x10,44000x1,5000x50] [--endpoints 10] [--runs 3]
//                     [--mix realistic|uniform] [--layout lists|per-object] [--per-file 1000]
//                     [--changes 50] [--burst 1000] [--sources manifests,api] [--kp-timeout 300]
//                     [--small-reps 5] [--nft-alt PATH]
//                     [--only render,floor,kube-proxy,small,run,dataplane] [--dp-services N] [--dp-seconds 4]
//                     [--dp-parallel 64] [--dp-rounds 5] [--out bench/results.json] [--md BENCHMARKS.md]
//                     [--no-md] [--work-dir bench/out] [--at REV | --sluice PATH] [--profile-run]
//                     [--node-flags FLAGS]
//
// A size is SERVICESxENDPOINTS (or SERVICES, with --endpoints). By default it measures the work tree's
// cmd/sluice.ts; --at REV measures a commit (exported with git archive to a temporary folder), --sluice
// PATH another copy of sluice. --profile-run runs sluice run under --cpu-prof and prints where the
// endpoint changes' time went (its timings are then skewed: use it with --no-md and another --out).
// --node-flags '...' replaces the node flags taken from sluice's #! line (for `sluice run` and the
// second render measurement). --nft-alt PATH (default bench/out/trixie/nft when it exists, see
// bench/fetch-trixie-nft.sh) is a second nft binary for the small-transaction stage.
//
// Stages per size: render (sluice render as a whole process, best and median of --runs, peak RSS),
// floor (nft -f of the rendered script into a fresh namespace, and over itself), kube-proxy (kube-proxy
// 1.36's nftables rule shape for the same cluster, bench/kube-proxy-nft.ts, loaded into a fresh
// namespace, given up after --kp-timeout seconds), small (nft's own time for small transactions
// against the loaded table, and what it reads: bench/nft-small.ts; and the hourly full sync's script
// over the existing table), run (sluice run in a fresh namespace for each of --sources: first full
// sync, --changes single-endpoint changes, a burst of --burst changes, peak RSS, then a restart over
// the tables it left). Once, at 10,000×10 or the largest size: dataplane (connections per second in a
// lab, sluice's rules and then kube-proxy iptables-mode rules). Everything it creates is removed at
// the end, on error and on Ctrl-C.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG } from '../lib/config/kube-proxy-config.ts';
import { labAvailable } from '../lab/lab.ts';
import { createContext, NODE, REPO, shebangFlags, SLUICE, writeBenchConfig } from './context.ts';
import { measureDaemon, type ChangeSource } from './daemon.ts';
import { measureSmallTransactions } from './nft-small.ts';
import { measureDataPlane } from './dataplane.ts';
import { cleanUpAll, installSignalHandlers, onCleanup } from './proc.ts';
import { measureBaseline, measureFloor, measureKubeProxyShape, measureRender, writeCluster } from './render-floor.ts';
import type { Layout, Mix } from './synth.ts';
import { formatSummary, summarize, type CpuProfile } from './profile-top.ts';
import { checkTargets, resultsMarkdown, spliceResults, type Machine, type Results, type SizeResult } from './results.ts';

const STAGES = ['render', 'floor', 'kube-proxy', 'small', 'run', 'dataplane'] as const;
type Stage = typeof STAGES[number];

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function numbers(name: string, text: string): number[] {
  const xs = text.split(',').filter((x) => x !== '').map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1 || x > 1_000_000)) fail(`--${name}: want positive integers, not ${text}`);
  return xs;
}

function one(name: string, text: string, max: number): number {
  const [x] = numbers(name, text);
  if (x > max) fail(`--${name}: at most ${max}`);
  return x;
}

function tryCommand(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    nft: tryCommand('nft', ['--version']),
    iptables: tryCommand('iptables', ['--version']),
    node: tryCommand(NODE, ['--version']),
    cpu: cpus[0]?.model ?? '?',
  };
}

function gitState(): Results['git'] {
  const commit = tryCommand('git', ['-C', REPO, 'rev-parse', 'HEAD']);
  // What runs is the work tree: say so when the code under test differs from the commit.
  const status = tryCommand('git', ['-C', REPO, 'status', '--porcelain', '--', 'cmd', 'lib', 'templates', 'package.json']);
  const uncommitted = status === '?' ? [] : status.split('\n').filter((l) => l.trim() !== '').map((l) => l.slice(3));
  return { commit, uncommitted, source: 'the work tree' };
}

/**
 * The code of one commit, exported to a temporary folder (git archive, node_modules linked): a
 * benchmark of a commit rather than of a work tree that may be in the middle of someone's edit.
 */
function exportCommit(rev: string): { sluice: string; git: Results['git'] } {
  const commit = tryCommand('git', ['-C', REPO, 'rev-parse', '--verify', `${rev}^{commit}`]);
  if (!/^[0-9a-f]{40}$/.test(commit)) fail(`--at ${rev}: not a commit`);
  // Outside the repo, where tsc and jest would find its copies of lib/.
  const dir = join(os.tmpdir(), `sluice-bench-${commit.slice(0, 12)}-${process.pid}`);
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', 'git -C "$0" archive --format=tar "$1" cmd lib templates package.json | tar -x -C "$2"', REPO, commit, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return { sluice: join(dir, 'cmd', 'sluice.ts'), git: { commit, uncommitted: [], source: `git archive of ${rev}` } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1000x10,10000x10,44000x1,5000x50' },
      endpoints: { type: 'string', default: '10' },
      runs: { type: 'string', default: '3' },
      changes: { type: 'string', default: '50' },
      burst: { type: 'string', default: '1000' },
      sources: { type: 'string', default: 'manifests,api' },
      mix: { type: 'string', default: 'realistic' },
      layout: { type: 'string', default: 'lists' },
      'per-file': { type: 'string', default: '1000' },
      'kp-timeout': { type: 'string', default: '300' },
      'small-reps': { type: 'string', default: '5' },
      'nft-alt': { type: 'string' },
      only: { type: 'string', default: STAGES.join(',') },
      'dp-services': { type: 'string' },
      'dp-seconds': { type: 'string', default: '4' },
      'dp-parallel': { type: 'string', default: '64' },
      'dp-rounds': { type: 'string', default: '5' },
      out: { type: 'string', default: join(REPO, 'bench', 'results.json') },
      md: { type: 'string', default: join(REPO, 'BENCHMARKS.md') },
      'no-md': { type: 'boolean', default: false },
      'work-dir': { type: 'string', default: join(REPO, 'bench', 'out') },
      sluice: { type: 'string' },
      at: { type: 'string' },
      'profile-run': { type: 'boolean', default: false },
      'node-flags': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
    return;
  }
  const endpoints = one('endpoints', values.endpoints, 1000);
  const sizes = values.sizes.split(',').filter((x) => x !== '').map((x) => {
    const [n, e] = x.split('x');
    return { services: one('sizes', n, 1_000_000), endpoints: e === undefined ? endpoints : one('sizes', e, 1000) };
  });
  if (sizes.length === 0) fail('--sizes: none given');
  const burst = Number(values.burst);
  if (!Number.isInteger(burst) || burst < 0) fail(`--burst: want a count, not ${values.burst}`);
  const sources = values.sources.split(',').filter((x) => x !== '') as ChangeSource[];
  for (const x of sources) if (x !== 'manifests' && x !== 'api') fail(`--sources: manifests or api, not ${x}`);
  const mix = values.mix as Mix;
  if (mix !== 'realistic' && mix !== 'uniform') fail(`--mix: realistic or uniform, not ${values.mix}`);
  const layout = values.layout as Layout;
  if (layout !== 'lists' && layout !== 'per-object') fail(`--layout: lists or per-object, not ${values.layout}`);
  const perFile = one('per-file', values['per-file'], 1_000_000);
  const kpTimeoutMs = one('kp-timeout', values['kp-timeout'], 7200) * 1000;
  const smallReps = one('small-reps', values['small-reps'], 50);
  const defaultAlt = join(REPO, 'bench', 'out', 'trixie', 'nft');
  const nftAlt = values['nft-alt'] ?? (existsSync(defaultAlt) ? defaultAlt : undefined);
  const runs = one('runs', values.runs, 20);
  const changes = one('changes', values.changes, 1000);
  const only = new Set(values.only.split(',').filter((s) => s !== ''));
  for (const s of only) if (!STAGES.includes(s as Stage)) fail(`--only: unknown stage ${s} (stages: ${STAGES.join(', ')})`);
  const dpServices = values['dp-services'] ? one('dp-services', values['dp-services'], 1_000_000)
    : sizes.some((x) => x.services === 10_000) ? 10_000 : Math.max(...sizes.map((x) => x.services));
  const dpSeconds = one('dp-seconds', values['dp-seconds'], 60);
  const dpParallel = one('dp-parallel', values['dp-parallel'], 1024);
  const dpRounds = one('dp-rounds', values['dp-rounds'], 20);
  if (values.sluice && values.at) fail('--sluice and --at exclude each other');

  installSignalHandlers();
  const ctx = createContext(resolve(values['work-dir']), `sb${randomBytes(3).toString('hex')}`);
  const exported = values.at ? exportCommit(values.at) : undefined;
  const sluice = exported?.sluice ?? resolve(values.sluice ?? SLUICE);
  const nodeFlags = values['node-flags'] !== undefined ? values['node-flags'].split(/\s+/).filter((f) => f !== '') : shebangFlags(sluice);
  if (exported) ctx.progress(`benchmarking ${exported.git.commit.slice(0, 12)} (${values.at}), exported to ${sluice}`);
  const config = writeBenchConfig(ctx);
  const root = process.getuid?.() === 0;
  const kernelStages = new Set<Stage>(['floor', 'kube-proxy', 'small', 'run', 'dataplane']);
  if (!root) {
    for (const s of kernelStages) if (only.delete(s)) ctx.progress(`skipping ${s}: it needs root (network namespaces)`);
  } else if (only.has('dataplane')) {
    const a = await labAvailable();
    if (!a.ok) {
      only.delete('dataplane');
      ctx.progress(`skipping dataplane: ${a.reason}`);
    }
  }

  const results: Results = {
    date: new Date().toISOString(),
    machine: machine(),
    git: exported?.git ?? (values.sluice ? { commit: '?', uncommitted: [], source: sluice } : gitState()),
    options: { sizes, runs, changes, burst, sources, mix, layout, perFile, kpTimeoutMs, smallReps, nftAlt, stages: [...only], nodeFlags, profileRun: values['profile-run'], dpServices, dpSeconds, dpParallel, dpRounds, sluice, minSyncPeriodMs: DEFAULT_CONFIG.minSyncPeriodMs },
    loadAverage: { start: os.loadavg(), end: [] },
    sizes: [],
    targets: [],
  };
  const m = results.machine;
  ctx.progress(`${m.nproc} CPUs, ${m.memoryGiB} GiB, kernel ${m.kernel}, ${m.nft}, node ${m.node}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (os.loadavg()[0] > m.nproc) ctx.progress(`warning: the load average (${os.loadavg()[0].toFixed(1)}) is above the CPU count; the numbers will be noisy`);

  for (const { services, endpoints: eps } of sizes) {
    const synth = { services, endpoints: eps, mix, layout, perFile };
    ctx.progress(`== ${services} services × ${eps} endpoints (${mix}, ${layout})`);
    const gen = writeCluster(ctx, synth);
    const size: SizeResult = { services, endpoints: eps, generateMs: gen.ms, errors: {}, loadAverage: { before: os.loadavg(), after: [] } };
    results.sizes.push(size);
    const script = join(ctx.workDir, `render-${services}x${eps}.nft`);
    const stage = async (name: Stage, fn: () => Promise<void>) => {
      if (!only.has(name)) return;
      try {
        await fn();
      } catch (e) {
        size.errors[name] = (e as Error).message;
        ctx.progress(`  ${name} failed: ${(e as Error).message}`);
      }
    };
    await stage('render', async () => {
      ctx.progress(`render ×${runs}`);
      size.baseline = await measureBaseline(ctx, gen.dir, runs);
      size.render = await measureRender(ctx, { sluice, nodeFlags: [], dir: gen.dir, config, script, runs });
      if (nodeFlags.length) {
        const asBin = join(ctx.workDir, `render-${services}x${eps}-bin.nft`);
        size.renderAsBin = await measureRender(ctx, { sluice, nodeFlags, dir: gen.dir, config, script: asBin, runs });
        if (readFileSync(asBin, 'utf8') !== readFileSync(script, 'utf8')) throw new Error('the two renders differ');
      }
    });
    await stage('floor', async () => {
      if (!size.render) throw new Error('no rendered script (the render stage did not run)');
      ctx.progress(`nft floor ×${runs}`);
      size.floor = await measureFloor(ctx, script, runs, services);
    });
    await stage('kube-proxy', async () => {
      ctx.progress(`kube-proxy 1.36's nftables rule shape (given up after ${kpTimeoutMs / 1000} s)`);
      size.kubeProxy = await measureKubeProxyShape(ctx, synth, kpTimeoutMs);
    });
    await stage('small', async () => {
      if (!size.render) throw new Error('no rendered script (the render stage did not run)');
      ctx.progress(`nft's own time for small transactions on the ${services}-service table${nftAlt ? `, with nft and ${nftAlt}` : ''}`);
      size.small = await measureSmallTransactions(ctx, { dir: gen.dir, config, script, services, reps: smallReps, nfts: { system: 'nft', ...(nftAlt ? { alt: nftAlt } : {}) } });
    });
    await stage('run', async () => {
      for (const source of sources) {
        ctx.progress(`sluice run (${source})`);
        const d = await measureDaemon(ctx, {
          sluice, nodeFlags, cluster: gen.cluster, config, source, changes, burst, restart: true,
          gapMs: DEFAULT_CONFIG.minSyncPeriodMs + 250,
          startTimeoutMs: Math.max(120_000, 5 * (size.floor?.firstLoadMedianMs ?? 60_000)),
          profileDir: values['profile-run'] ? join(ctx.workDir, `profile-run-${services}x${eps}-${source}`) : undefined,
        });
        if (source === 'manifests') size.daemon = d;
        else size.daemonApi = d;
        if (!d.available) ctx.progress(`  skipped: ${d.reason}`);
        else if (d.profile) {
          const p = d.profile;
          const text = formatSummary(summarize(JSON.parse(readFileSync(p.file, 'utf8')) as CpuProfile, 25, p));
          const file = join(ctx.workDir, `profile-run-${services}x${eps}-${source}.txt`);
          writeFileSync(file, `sluice run (${source}), ${services}x${eps}: the stretch of the profile the ${changes} endpoint changes took\n\n${text}`);
          ctx.progress(`  profile of the endpoint changes (${p.file}):\n${text}`);
        }
      }
    });
    size.loadAverage.after = os.loadavg();
  }

  if (only.has('dataplane')) {
    ctx.progress(`== data plane: ${dpServices} services × 10 endpoints in a lab`);
    try {
      results.dataplane = await measureDataPlane(ctx, {
        sluice, config, synth: { services: dpServices, endpoints: 10 }, seconds: dpSeconds, parallel: dpParallel, rounds: dpRounds,
      });
    } catch (e) {
      results.dataplane = { error: (e as Error).message };
      ctx.progress(`  data plane failed: ${(e as Error).message}`);
    }
  }

  results.loadAverage.end = os.loadavg();
  results.targets = checkTargets(results);
  writeFileSync(values.out, JSON.stringify(results, null, 2) + '\n');
  ctx.progress(`results: ${values.out}`);
  const block = resultsMarkdown(results);
  if (!values['no-md']) {
    const doc = existsSync(values.md) ? readFileSync(values.md, 'utf8') : '# Benchmarks\n';
    writeFileSync(values.md, spliceResults(doc, block));
    ctx.progress(`report: ${values.md}`);
  }
  process.stderr.write('\n' + block);
}

main().then(
  async () => { await cleanUpAll(); },
  async (e) => {
    process.stderr.write(`bench: ${(e as Error)?.stack ?? e}\n`);
    await cleanUpAll();
    process.exitCode = 1;
  },
);
