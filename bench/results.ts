// The benchmark's results as data (bench/results.json), the issue's targets checked against them,
// and the generated part of BENCHMARKS.md.
import type { DaemonResult } from './daemon.ts';
import type { DataPlaneResult } from './dataplane.ts';
import type { FloorResult, RenderBaseline, RenderResult } from './render-floor.ts';
import { percentile } from './stats.ts';

export interface Machine {
  nproc: number;
  memoryGiB: number;
  kernel: string;
  nft: string;
  iptables: string;
  node: string;
  cpu: string;
}

export interface SizeResult {
  services: number;
  endpoints: number;
  generateMs: number;
  /** `node cmd/sluice.ts render`, as the issue measures it */
  render?: RenderResult;
  /** the same with the node flags of the script's #! line (how `npx sluice` and the image run it) */
  renderAsBin?: RenderResult;
  baseline?: RenderBaseline;
  floor?: FloorResult;
  daemon?: DaemonResult;
  errors: Record<string, string>;
  loadAverage: { before: number[]; after: number[] };
}

export interface Results {
  date: string;
  machine: Machine;
  /** what was measured: the work tree (and what in it differs from the commit), or an exported commit */
  git: { commit: string; uncommitted: string[]; source: string };
  options: Record<string, unknown>;
  loadAverage: { start: number[]; end: number[] };
  sizes: SizeResult[];
  dataplane?: DataPlaneResult | { error: string } | { skipped: string };
  targets: TargetCheck[];
}

export interface TargetCheck {
  target: string;
  /** the measured value, in the target's terms */
  measured: string;
  met: boolean | null;
  /** how far from the target, or why it was not measured */
  detail: string;
}

const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
const mib = (kib: number | undefined) => (kib === undefined ? '?' : `${Math.round(kib / 1024)} MiB`);
const ratio = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 0.1 ? 3 : 2) : '-');
const n = (x: number) => Math.round(x).toLocaleString('en-US');

function targetSize(r: Results): SizeResult | undefined {
  return r.sizes.find((s) => s.services === 10_000 && s.endpoints === 10)
    ?? [...r.sizes].sort((a, b) => b.services - a.services)[0];
}

function sizeLabel(s: SizeResult): string {
  return `${n(s.services)}×${s.endpoints}`;
}

/** The issue's targets, checked against the measurements as they are. */
export function checkTargets(r: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const s = targetSize(r);
  const at = s ? (s.services === 10_000 && s.endpoints === 10 ? '' : ` (measured at ${sizeLabel(s)}, not 10,000×10)`) : '';
  const none = (target: string, why: string): TargetCheck => ({ target, measured: '-', met: null, detail: why });
  const le = (target: string, value: number, limit: number, shown: string, strict = false): TargetCheck => {
    const met = strict ? value < limit : value <= limit;
    return { target, measured: shown + at, met, detail: met ? `met, ${ratio(limit / value)}× headroom` : `missed by ${ratio(value / limit)}× (${((value / limit - 1) * 100).toFixed(0)}% over)` };
  };
  const ge = (target: string, value: number, limit: number, shown: string): TargetCheck => {
    const met = value >= limit;
    return { target, measured: shown, met, detail: met ? `met (${(value - limit >= 0 ? '+' : '')}${((value - limit) * 100).toFixed(0)} points)` : `missed by ${((limit - value) * 100).toFixed(0)} points` };
  };

  let t = 'render at 10,000×10 ≤ 1/10 of the nft floor';
  if (s?.render && s.floor) {
    const v = s.render.medianMs / s.floor.firstLoadMedianMs;
    checks.push(le(t, v, 0.1, `${ratio(v)} (${ms(s.render.medianMs)} / ${ms(s.floor.firstLoadMedianMs)}, medians)`));
  } else checks.push(none(t, 'not measured'));

  const d = s?.daemon;
  const noRun = d && !d.available ? d.reason : 'not measured';
  t = 'first full sync ≤ 1.3 × the nft floor';
  if (d?.available && s?.floor) {
    const v = d.firstFullSyncMs / s.floor.firstLoadMedianMs;
    checks.push(le(t, v, 1.3, `${ratio(v)} (${ms(d.firstFullSyncMs)} / ${ms(s.floor.firstLoadMedianMs)})`));
  } else checks.push(none(t, noRun));

  t = 'single-endpoint change p50 < 300 ms at 10,000';
  if (d?.available) {
    checks.push(d.changesMissed > 0
      ? { target: t, measured: `${ms(d.changeP50Ms)}${at}`, met: false, detail: `${d.changesMissed} of ${d.changes.length} changes never reached the kernel` }
      : le(t, d.changeP50Ms, 300, ms(d.changeP50Ms), true));
  } else checks.push(none(t, noRun));

  t = 'peak RSS of sluice run at 10,000×10 < 256 MiB';
  if (d?.available && d.peakRssKiB !== undefined) checks.push(le(t, d.peakRssKiB / 1024, 256, mib(d.peakRssKiB), true));
  else checks.push(none(t, noRun));

  const dp = r.dataplane && 'sluice' in r.dataplane ? r.dataplane : undefined;
  const noDp = r.dataplane && 'error' in r.dataplane ? `failed: ${r.dataplane.error}` : r.dataplane && 'skipped' in r.dataplane ? r.dataplane.skipped : 'not measured';
  const dpAt = dp && dp.services !== 10_000 ? ` (at ${n(dp.services)} services)` : '';
  t = 'connections to the 10,000th service ≥ 0.9 × the first';
  if (dp) {
    const v = dp.sluice.ratios.lastToFirst;
    checks.push(ge(t, v, 0.9, `${ratio(v)} (medians ${n(dp.sluice.perSecond.last)} / ${n(dp.sluice.perSecond.first)} conn/s)${dpAt}`));
  } else checks.push(none(t, noDp));
  t = 'connections to the 10,000th service ≥ 0.85 × direct';
  if (dp) {
    const v = dp.sluice.ratios.lastToDirect;
    checks.push(ge(t, v, 0.85, `${ratio(v)} (medians ${n(dp.sluice.perSecond.last)} / ${n(dp.sluice.perSecond.direct)} conn/s)${dpAt}`));
  } else checks.push(none(t, noDp));
  return checks;
}

const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');

/** The generated part of BENCHMARKS.md. */
export function resultsMarkdown(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`Measured ${r.date}: commit \`${r.git.commit.slice(0, 12)}\` (${r.git.source}${r.git.uncommitted.length ? `, with uncommitted changes to ${r.git.uncommitted.join(', ')}` : ''}).`, '');
  out.push('| machine | |', '|---|---|');
  out.push(`| CPUs (nproc) | ${m.nproc} (${m.cpu}) |`, `| memory | ${m.memoryGiB} GiB |`, `| kernel | ${m.kernel} |`,
    `| nft | ${m.nft} |`, `| iptables | ${m.iptables} |`, `| node | ${m.node} |`,
    `| load average (1/5/15 min) at start | ${load(r.loadAverage.start)} |`, `| load average at end | ${load(r.loadAverage.end)} |`, '');

  out.push('### Targets', '', '| target | measured | verdict |', '|---|---|---|');
  for (const c of r.targets) out.push(`| ${c.target} | ${c.measured} | ${c.met === null ? 'not measured' : c.met ? '**met**' : '**missed**'}: ${c.detail} |`);
  out.push('');

  out.push('### Ratios', '', '| ratio | ' + r.sizes.map(sizeLabel).join(' | ') + ' |', '|---|' + r.sizes.map(() => '---|').join(''));
  const row = (name: string, f: (s: SizeResult) => number | undefined) => out.push(`| ${name} | ${r.sizes.map((s) => { const v = f(s); return v === undefined ? '-' : ratio(v); }).join(' | ')} |`);
  row('render / nft floor (medians)', (s) => (s.render && s.floor ? s.render.medianMs / s.floor.firstLoadMedianMs : undefined));
  row('baseline: reading and parsing the files / nft floor', (s) => (s.baseline && s.floor ? s.baseline.readAllMs / s.floor.firstLoadMedianMs : undefined));
  if (r.sizes.some((s) => s.renderAsBin)) row(`render with \`node ${r.sizes.find((s) => s.renderAsBin)!.renderAsBin!.nodeFlags.join(' ')}\` / nft floor`, (s) => (s.renderAsBin && s.floor ? s.renderAsBin.medianMs / s.floor.firstLoadMedianMs : undefined));
  row('first full sync / nft floor', (s) => (s.daemon?.available && s.floor ? s.daemon.firstFullSyncMs / s.floor.firstLoadMedianMs : undefined));
  const dpr = r.dataplane && 'sluice' in r.dataplane ? r.dataplane : undefined;
  if (dpr) {
    out.push('', `Data plane (${n(dpr.services)} services; median over rounds of the ratio within a round):`, '', '| ratio | sluice | kube-proxy iptables mode |', '|---|---|---|');
    out.push(`| last service / first service | ${ratio(dpr.sluice.ratios.lastToFirst)} | ${ratio(dpr.iptables.ratios.lastToFirst)} |`);
    out.push(`| last service / direct to the pods | ${ratio(dpr.sluice.ratios.lastToDirect)} | ${ratio(dpr.iptables.ratios.lastToDirect)} |`);
    out.push(`| first service / direct to the pods | ${ratio(dpr.sluice.ratios.firstToDirect)} | ${ratio(dpr.iptables.ratios.firstToDirect)} |`);
  }
  out.push('');

  out.push('### Render and the nft floor', '',
    '| services × endpoints | files | render best / median | render peak RSS | same, with the #! line\'s node flags | baseline: `node -e 0` / a node process reading and parsing every file | script | `nft -f` first load best / median | over itself best / median | load avg before → after |',
    '|---|---|---|---|---|---|---|---|---|---|');
  for (const s of r.sizes) {
    const rd = s.render;
    const rb = s.renderAsBin;
    const f = s.floor;
    out.push(`| ${[
      sizeLabel(s),
      n(2 * s.services + 1),
      rd ? `${ms(rd.bestMs)} / ${ms(rd.medianMs)}` : '-',
      rd ? mib(rd.peakRssKiB) : '-',
      rb ? `${ms(rb.bestMs)} / ${ms(rb.medianMs)}, ${mib(rb.peakRssKiB)}` : '-',
      s.baseline ? `${ms(s.baseline.nodeStartMs)} / ${ms(s.baseline.readAllMs)}` : '-',
      rd ? `${(rd.scriptBytes / 2 ** 20).toFixed(1)} MiB, ${n(rd.scriptLines)} lines` : '-',
      f ? `${ms(f.firstLoadBestMs)} / ${ms(f.firstLoadMedianMs)}` : '-',
      f ? `${ms(f.reloadBestMs)} / ${ms(f.reloadMedianMs)}` : '-',
      `${s.loadAverage.before[0].toFixed(1)} → ${s.loadAverage.after[0].toFixed(1)}`,
    ].join(' | ')} |`);
  }
  out.push('');

  out.push('### sluice run', '');
  const ran = r.sizes.filter((s) => s.daemon?.available);
  const skipped = r.sizes.find((s) => s.daemon && !s.daemon.available);
  if (skipped?.daemon && !skipped.daemon.available) out.push(`Skipped: ${skipped.daemon.reason}.`, '');
  if (ran.length) {
    const flags = ran[0].daemon?.available ? ran[0].daemon.nodeFlags : [];
    out.push(`Run as \`node ${[...flags, 'cmd/sluice.ts'].join(' ')} run --from DIR --config CFG --node node1 --log-format json\` in a fresh network namespace.`, '',
      '| services × endpoints | first full sync (sluice\'s own durationMs) | full sync / nft floor | endpoint change p50 / max (n) | sluice\'s partial sync durationMs p50 | peak RSS (VmHWM) at the end | peak RSS after the first sync | RSS at the end |',
      '|---|---|---|---|---|---|---|---|');
    for (const s of ran) {
      const d = s.daemon;
      if (!d?.available) continue;
      const logged = d.changes.flatMap((c) => (c.syncDurationMs === undefined ? [] : [c.syncDurationMs]));
      out.push(`| ${[
        sizeLabel(s),
        `${ms(d.firstFullSyncMs)} (${d.firstFullSyncLoggedMs === undefined ? '?' : ms(d.firstFullSyncLoggedMs)})`,
        s.floor ? ratio(d.firstFullSyncMs / s.floor.firstLoadMedianMs) : '-',
        `${ms(d.changeP50Ms)} / ${ms(d.changeMaxMs)} (${d.changes.length}${d.changesMissed ? `, ${d.changesMissed} never seen` : ''})`,
        logged.length ? ms(percentile(logged, 50)) : '-',
        mib(d.peakRssKiB),
        mib(d.peakRssAfterFirstSyncKiB),
        mib(d.rssAtEndKiB),
      ].join(' | ')} |`);
    }
  }
  for (const s of r.sizes) for (const [stage, e] of Object.entries(s.errors)) out.push('', `${sizeLabel(s)} ${stage}: **failed**: ${e}`);
  out.push('');

  out.push('### Data plane', '');
  const dp = r.dataplane;
  if (!dp) out.push('Not measured.');
  else if ('error' in dp) out.push(`**Failed**: ${dp.error}`);
  else if ('skipped' in dp) out.push(`Skipped: ${dp.skipped}.`);
  else {
    out.push(`${n(dp.services)} services × ${dp.endpoints} endpoints on node1; new TCP connections per second from the client, ${dp.parallel} at a time; in each round the three targets take turns of ${dp.sliceMs} ms for ${dp.seconds} s each. The rate is the median of ${dp.sluice.rounds.first.length} rounds (every round in brackets); a ratio is the median of the ratios within each round.`, '');
    out.push('| ruleset on node1 | load time | 1st service | last service | direct to the pods | last / first | last / direct | first / direct |', '|---|---|---|---|---|---|---|---|');
    for (const [name, mode] of [['sluice (nftables verdict map)', dp.sluice], ['kube-proxy iptables mode (iptables-nft)', dp.iptables]] as const) {
      const p = mode.perSecond;
      const cell = (t: 'first' | 'last' | 'direct') => `${n(p[t])} [${mode.rounds[t].map(n).join(', ')}]`;
      out.push(`| ${name} | ${ms(mode.loadMs)} | ${cell('first')} | ${cell('last')} | ${cell('direct')} | ${ratio(mode.ratios.lastToFirst)} | ${ratio(mode.ratios.lastToDirect)} | ${ratio(mode.ratios.firstToDirect)} |`);
    }
    out.push('', `Targets: first ${dp.targets.first}; last ${dp.targets.last}; direct ${dp.targets.direct}.`);
    const failures = [dp.sluice, dp.iptables].flatMap((mode) => Object.values(mode.samples).flat()).reduce((a, s) => a + s.failed + s.timedOut, 0);
    out.push(`Failed or timed-out connections over all measurements: ${failures}.`);
  }
  out.push('');
  return out.join('\n');
}

export const BEGIN = '<!-- results: generated by `make bench` (bench/run.ts); edits between these markers are overwritten -->';
export const END = '<!-- end of results -->';

/** The document with its generated block replaced (or appended, the first time). */
export function spliceResults(doc: string, block: string): string {
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  if (i >= 0 && j > i) return doc.slice(0, i) + BEGIN + '\n' + block + END + doc.slice(j + END.length);
  return `${doc.trimEnd()}\n\n${BEGIN}\n${block}${END}\n`;
}
