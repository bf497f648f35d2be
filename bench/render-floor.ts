// Stages 1 and 2: `sluice render` as a whole process (wall time, peak RSS), and the floor any
// renderer has to beat: `nft -f` of the same script into a fresh network namespace, then over itself.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCluster, type SyntheticCluster, type SynthOptions } from './synth.ts';
import { hasIPv6, writeKubeProxyTransaction } from './kube-proxy-nft.ts';
import { freshNamespace, NODE, type BenchContext } from './context.ts';
import { runTimed, runTimedOk } from './proc.ts';
import { max, median, min } from './stats.ts';

export interface RenderResult {
  nodeFlags: string[];
  runsMs: number[];
  bestMs: number;
  medianMs: number;
  peakRssKiB?: number;
  rssMethod?: string;
  scriptBytes: number;
  scriptLines: number;
  /** lines sluice logged on stderr (warnings would mean the synthetic cluster is not what we think) */
  stderrLines: number;
}

/** What a render pays before sluice's own work: a node process, and one that only reads the folder. */
export interface RenderBaseline {
  /** `node -e 0`, median */
  nodeStartMs: number;
  /** `node bench/read-all.ts DIR` (read and JSON.parse every file), median */
  readAllMs: number;
  readAllPeakRssKiB?: number;
}

export interface FloorResult {
  firstLoadMs: number[];
  reloadMs: number[];
  firstLoadBestMs: number;
  firstLoadMedianMs: number;
  reloadBestMs: number;
  reloadMedianMs: number;
}

export function clusterDir(ctx: BenchContext, opts: SynthOptions, tag = ''): string {
  return join(ctx.workDir, `cluster-${opts.services}x${opts.endpoints}${tag}`);
}

export function writeCluster(ctx: BenchContext, opts: SynthOptions): { dir: string; ms: number; cluster: SyntheticCluster } {
  const dir = clusterDir(ctx, opts);
  const t = performance.now();
  const cluster = writeSyntheticCluster(dir, opts);
  return { dir, ms: performance.now() - t, cluster };
}

export interface KubeProxyLoad {
  /** per family: the transaction's lines and the time of its `nft -f` into a fresh namespace (null: timed out) */
  families: { family: 'ip' | 'ip6'; lines: number; bytes: number; ms: number | null; error?: string }[];
  /** both families, one after the other (kube-proxy syncs each family with its own transaction); null when one timed out */
  totalMs: number | null;
  timeoutMs: number;
}

/** kube-proxy 1.36's nftables rule shape for the cluster (bench/kube-proxy-nft.ts), loaded into a fresh namespace. */
export async function measureKubeProxyShape(ctx: BenchContext, opts: SynthOptions, timeoutMs: number): Promise<KubeProxyLoad> {
  const { ns, remove } = await freshNamespace(ctx, `kp${opts.services}`);
  const families: KubeProxyLoad['families'] = [];
  try {
    for (const family of hasIPv6(opts) ? ['ip', 'ip6'] as const : ['ip'] as const) {
      const file = join(ctx.workDir, `kube-proxy-${opts.services}x${opts.endpoints}.${family}.nft`);
      const lines = writeKubeProxyTransaction(file, family, opts);
      const r = await runTimed('ip', ['netns', 'exec', ns, 'nft', '-f', file], { timeoutMs });
      const timedOut = r.stderr.includes(`killed after ${timeoutMs} ms`);
      const error = r.exitCode === 0 ? undefined : timedOut ? `not loaded in ${timeoutMs / 1000} s (killed)` : r.stderr.trim().slice(0, 500);
      families.push({ family, lines, bytes: statSync(file).size, ms: r.exitCode === 0 ? r.wallMs : null, error });
      ctx.progress(`  kube-proxy shape, ${family}: ${lines} lines, ${error ?? `${(r.wallMs / 1000).toFixed(2)} s`}`);
      if (r.exitCode !== 0) break;
    }
  } finally {
    await remove();
  }
  const ok = families.every((f) => f.ms !== null);
  return { families, totalMs: ok ? families.reduce((a, f) => a + f.ms!, 0) : null, timeoutMs };
}

/** `sluice render` of the folder, as NODE's arguments. */
export function renderArgs(sluice: string, dir: string, config: string): string[] {
  return [sluice, 'render', '--from', dir, '--config', config];
}

export interface RenderOptions {
  sluice: string;
  /** node flags before the script (none: `node cmd/sluice.ts render`, as the issue measures it) */
  nodeFlags: string[];
  dir: string;
  config: string;
  /** where the rendered script goes */
  script: string;
  runs: number;
}

export async function measureRender(ctx: BenchContext, o: RenderOptions): Promise<RenderResult> {
  const runsMs: number[] = [];
  const rss: number[] = [];
  let method: string | undefined;
  let stderrLines = 0;
  const how = o.nodeFlags.length ? `node ${o.nodeFlags.join(' ')}` : 'node';
  for (let r = 0; r < o.runs; r++) {
    const res = await runTimedOk(NODE, [...o.nodeFlags, ...renderArgs(o.sluice, o.dir, o.config)], { stdoutFile: o.script, peakRss: true, timeoutMs: 15 * 60_000 });
    runsMs.push(res.wallMs);
    if (res.peakRssKiB) rss.push(res.peakRssKiB);
    method = res.rssMethod;
    stderrLines = res.stderr.split('\n').filter((l) => l.trim() !== '').length;
    ctx.progress(`  render (${how}) ${r + 1}/${o.runs}: ${(res.wallMs / 1000).toFixed(2)} s, peak RSS ${res.peakRssKiB ? Math.round(res.peakRssKiB / 1024) + ' MiB' : '?'}`);
  }
  const text = readFileSync(o.script, 'utf8');
  return {
    nodeFlags: o.nodeFlags,
    runsMs,
    bestMs: min(runsMs),
    medianMs: median(runsMs),
    peakRssKiB: rss.length ? max(rss) : undefined,
    rssMethod: method,
    scriptBytes: statSync(o.script).size,
    scriptLines: text.split('\n').length - 1,
    stderrLines,
  };
}

const READ_ALL = fileURLToPath(new URL('./read-all.ts', import.meta.url));

export async function measureBaseline(ctx: BenchContext, dir: string, runs: number): Promise<RenderBaseline> {
  const start: number[] = [];
  const read: number[] = [];
  const rss: number[] = [];
  for (let r = 0; r < runs; r++) {
    start.push((await runTimedOk(NODE, ['-e', '0'], { timeoutMs: 60_000 })).wallMs);
    const res = await runTimedOk(NODE, [READ_ALL, dir], { timeoutMs: 10 * 60_000, peakRss: true });
    read.push(res.wallMs);
    if (res.peakRssKiB) rss.push(res.peakRssKiB);
  }
  ctx.progress(`  baseline: node -e 0 ${median(start).toFixed(0)} ms; reading and parsing every file ${median(read).toFixed(0)} ms (medians)`);
  return { nodeStartMs: median(start), readAllMs: median(read), readAllPeakRssKiB: rss.length ? max(rss) : undefined };
}

/** `nft -f SCRIPT` inside the namespace; the wall time of the whole command. */
export async function nftLoad(ns: string, script: string): Promise<number> {
  const r = await runTimedOk('ip', ['netns', 'exec', ns, 'nft', '-f', script], { timeoutMs: 30 * 60_000 });
  return r.wallMs;
}

export async function measureFloor(ctx: BenchContext, script: string, runs: number, size: number): Promise<FloorResult> {
  const firstLoadMs: number[] = [];
  const reloadMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const { ns, remove } = await freshNamespace(ctx, `floor${size}`);
    try {
      firstLoadMs.push(await nftLoad(ns, script));
      reloadMs.push(await nftLoad(ns, script));
    } finally {
      await remove();
    }
    ctx.progress(`  nft -f ${r + 1}/${runs}: first load ${(firstLoadMs[r] / 1000).toFixed(2)} s, over itself ${(reloadMs[r] / 1000).toFixed(2)} s`);
  }
  return {
    firstLoadMs,
    reloadMs,
    firstLoadBestMs: min(firstLoadMs),
    firstLoadMedianMs: median(firstLoadMs),
    reloadBestMs: min(reloadMs),
    reloadMedianMs: median(reloadMs),
  };
}
