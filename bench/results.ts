// The benchmark's results as data (bench/results.json), the issue's targets checked against them,
// and the generated part of BENCHMARKS.md.
import type { DaemonResult } from './daemon.ts';
import type { DataPlaneResult } from './dataplane.ts';
import type { SmallTxResult } from './nft-small.ts';
import type { FloorResult, KubeProxyLoad, RenderBaseline, RenderResult } from './render-floor.ts';
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
  /** kube-proxy 1.36's nftables rule shape for the same cluster, loaded into a fresh namespace */
  kubeProxy?: KubeProxyLoad;
  /** nft's own time for small transactions on the loaded table, and the hourly full sync's script */
  small?: SmallTxResult;
  /** sluice run from the manifests folder */
  daemon?: DaemonResult;
  /** sluice run from the (fake) API server */
  daemonApi?: DaemonResult;
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
  /** sync times re-derived from sluice's logs by bench/rederive-syncs.ts, and how */
  rederived?: Record<string, string[]>;
  /** stages taken from a second run by bench/merge-results.ts */
  merged?: { size: string; stage: string; from: string; loadAverage: number[] }[];
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

function sizeLabel(s: SizeResult): string {
  return `${n(s.services)}×${s.endpoints}`;
}

/** The sluice runs of a size, by source. */
function runs(s: SizeResult): { source: string; d: Extract<DaemonResult, { available: true }> }[] {
  return ([['manifests', s.daemon], ['API', s.daemonApi]] as const).flatMap(([source, d]) => (d?.available ? [{ source, d }] : []));
}

/** nft's own time (system nft, median) for sluice's one-endpoint-change transaction at this size. */
export function nftOwnChangeMs(s: SizeResult, nft = 'system'): number | undefined {
  const v = s.small?.variants.find((x) => x.name === 'sluice-endpoint-change')?.byNft[nft];
  return v && !v.error ? v.medianMs : undefined;
}

/** The issue's targets, checked against the measurements as they are. */
export function checkTargets(r: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const none = (target: string, why: string): TargetCheck => ({ target, measured: '-', met: null, detail: why });
  const le = (target: string, value: number, limit: number, shown: string, strict = false): TargetCheck => {
    const met = strict ? value < limit : value <= limit;
    return { target, measured: shown, met, detail: met ? `met, ${ratio(limit / value)}× headroom` : `missed by ${ratio(value / limit)}× (${((value / limit - 1) * 100).toFixed(0)}% over)` };
  };
  const ge = (target: string, value: number, limit: number, shown: string): TargetCheck => {
    const met = value >= limit;
    return { target, measured: shown, met, detail: met ? `met (${(value - limit >= 0 ? '+' : '')}${((value - limit) * 100).toFixed(0)} points)` : `missed by ${((limit - value) * 100).toFixed(0)} points` };
  };
  const both = (xs: { source: string; v: number }[], f: (v: number) => string) => xs.map((x) => `${x.source} ${f(x.v)}`).join(', ');
  const worst = (xs: { v: number }[]) => Math.max(...xs.map((x) => x.v));

  for (const s of r.sizes) {
    const at = sizeLabel(s);
    const rs = runs(s);
    let t = `${at}: first full sync ≤ 1.2 × the nft floor (start-up included)`;
    if (rs.length && s.floor) {
      const xs = rs.map(({ source, d }) => ({ source, v: d.firstFullSyncMs / s.floor!.firstLoadMedianMs }));
      checks.push(le(t, worst(xs), 1.2, `${both(xs, ratio)} (${rs.map(({ d }) => ms(d.firstFullSyncMs)).join(', ')} / ${ms(s.floor.firstLoadMedianMs)})`));
    } else checks.push(none(t, 'not measured'));
    t = `${at}: first full sync ≤ 0.3 × the load of kube-proxy's rule shape`;
    const kp = s.kubeProxy;
    if (rs.length && kp) {
      const denom = kp.totalMs ?? kp.timeoutMs;
      const xs = rs.map(({ source, d }) => ({ source, v: d.firstFullSyncMs / denom }));
      const c = le(t, worst(xs), 0.3, `${kp.totalMs === null ? '< ' : ''}${both(xs, ratio)} (${rs.map(({ d }) => ms(d.firstFullSyncMs)).join(', ')} / ${kp.totalMs === null ? `> ${ms(kp.timeoutMs)}, not loaded when given up` : ms(kp.totalMs)})`);
      // A shape that never finished loading bounds the ratio from above only.
      if (kp.totalMs === null && !c.met) checks.push({ ...c, met: null, detail: `kube-proxy's shape did not load in ${ms(kp.timeoutMs)}: the ratio is below ${ratio(worst(xs))}, not known` });
      else checks.push(c);
    } else checks.push(none(t, 'not measured'));
    if (s.services === 44_000) {
      t = `${at}: first full sync ≤ 30 s`;
      if (rs.length) {
        const xs = rs.map(({ source, d }) => ({ source, v: d.firstFullSyncMs }));
        checks.push(le(t, worst(xs) / 1000, 30, both(xs, ms)));
      } else checks.push(none(t, 'not measured'));
    }
    t = `${at}: one endpoint change p50 ≤ 1.5 × nft's own time for that transaction`;
    const own = nftOwnChangeMs(s);
    if (rs.length && own !== undefined) {
      const missed = rs.reduce((a, { d }) => a + d.changesMissed, 0);
      const xs = rs.map(({ source, d }) => ({ source, v: d.changeP50Ms / own }));
      const c = le(t, worst(xs), 1.5, `${both(xs, ratio)} (p50 ${rs.map(({ d }) => ms(d.changeP50Ms)).join(', ')} / ${ms(own)})`);
      checks.push(missed ? { ...c, met: false, detail: `${missed} changes never reached the kernel; ${c.detail}` } : c);
    } else checks.push(none(t, 'not measured'));
    const rssLimit = s.services === 10_000 && s.endpoints === 10 ? 150 : s.services === 44_000 ? 400 : undefined;
    if (rssLimit) {
      t = `${at}: peak RSS ≤ ${rssLimit} MiB`;
      const xs = rs.flatMap(({ source, d }) => (d.peakRssKiB === undefined ? [] : [{ source, v: d.peakRssKiB / 1024 }]));
      if (xs.length) checks.push(le(t, worst(xs), rssLimit, both(xs, (v) => `${Math.round(v)} MiB`)));
      else checks.push(none(t, 'not measured'));
    }
  }

  const s = r.sizes.find((x) => x.services === 10_000 && x.endpoints === 10);
  const t0 = 'render at 10,000×10 ≤ 1/10 of the nft floor';
  if (s?.render && s.floor) {
    const v = s.render.medianMs / s.floor.firstLoadMedianMs;
    checks.push(le(t0, v, 0.1, `${ratio(v)} (${ms(s.render.medianMs)} / ${ms(s.floor.firstLoadMedianMs)}, medians)`));
  } else checks.push(none(t0, 'not measured'));

  const dp = r.dataplane && 'sluice' in r.dataplane ? r.dataplane : undefined;
  const noDp = r.dataplane && 'error' in r.dataplane ? `failed: ${r.dataplane.error}` : r.dataplane && 'skipped' in r.dataplane ? r.dataplane.skipped : 'not measured';
  const dpAt = dp && dp.services !== 10_000 ? ` (at ${n(dp.services)} services)` : '';
  let t = 'connections to the 10,000th service ≥ 0.9 × the first';
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

/** The table of every size side by side: sluice, the floor, kube-proxy's shape. */
function sideBySide(r: Results, out: string[]): void {
  const sz = r.sizes;
  out.push('### Every size side by side', '', `| | ${sz.map(sizeLabel).join(' | ')} |`, `|---|${sz.map(() => '---|').join('')}`);
  const row = (name: string, f: (s: SizeResult) => string | undefined) => out.push(`| ${name} | ${sz.map((s) => f(s) ?? '-').join(' | ')} |`);
  const d = (s: SizeResult, src: 'manifests' | 'api') => { const x = src === 'api' ? s.daemonApi : s.daemon; return x?.available ? x : undefined; };
  row('services, endpoints (IPv4 + IPv6), sluice script lines', (s) => (s.render ? `${n(s.services)}, ${n(s.services * s.endpoints * 1.1)}, ${n(s.render.scriptLines)}` : undefined));
  row('**nft floor**: `nft -f` of sluice\'s script, fresh namespace (median)', (s) => (s.floor ? ms(s.floor.firstLoadMedianMs) : undefined));
  row('**kube-proxy 1.36 shape**: `nft -f`, fresh namespace (ip + ip6)', (s) => {
    const kp = s.kubeProxy;
    if (!kp) return undefined;
    if (kp.totalMs === null) return `> ${ms(kp.timeoutMs)} (given up; ${kp.families.map((f) => `${f.family} ${n(f.lines)} lines${f.ms === null ? '' : ` ${ms(f.ms)}`}`).join(', ')})`;
    return `${ms(kp.totalMs)} (${kp.families.map((f) => `${f.family} ${ms(f.ms!)}`).join(' + ')}; ${n(kp.families.reduce((a, f) => a + f.lines, 0))} lines)`;
  });
  for (const src of ['manifests', 'api'] as const) {
    const label = src === 'api' ? 'API' : 'manifests';
    if (!sz.some((s) => d(s, src))) continue;
    row(`**sluice first full sync** from spawn, new node (${label}) (its own durationMs)`, (s) => { const x = d(s, src); return x ? `${ms(x.firstFullSyncMs)} (${x.firstFullSyncLoggedMs === undefined ? '?' : ms(x.firstFullSyncLoggedMs)})` : undefined; });
    row(`first full sync / nft floor (${label})`, (s) => { const x = d(s, src); return x && s.floor ? ratio(x.firstFullSyncMs / s.floor.firstLoadMedianMs) : undefined; });
    row(`first full sync / kube-proxy shape (${label})`, (s) => { const x = d(s, src); const kp = s.kubeProxy; return x && kp ? `${kp.totalMs === null ? '< ' : ''}${ratio(x.firstFullSyncMs / (kp.totalMs ?? kp.timeoutMs))}` : undefined; });
    row(`restart over its own tables: spawn to full sync (${label})`, (s) => { const x = d(s, src); return x?.restartFullSyncMs !== undefined ? `${ms(x.restartFullSyncMs)} (${ms(x.restartFullSyncLoggedMs ?? NaN)})` : undefined; });
    row(`periodic (hourly) full sync inside sluice, its durationMs (${label})`, (s) => { const x = d(s, src); return x?.periodicFullSyncLoggedMs !== undefined ? ms(x.periodicFullSyncLoggedMs) : undefined; });
  }
  row('hourly full sync\'s script over the existing table: `nft -f` alone (nft 1.0.6 / 1.1.3)', (s) => {
    const f = s.small?.fullSyncExisting;
    if (!f) return undefined;
    return Object.values(f).map((x) => (x.error ? 'failed' : ms(x.medianMs))).join(' / ');
  });
  row('nft\'s own time for sluice\'s one-endpoint-change transaction (nft 1.0.6 / 1.1.3)', (s) => {
    const v = s.small?.variants.find((x) => x.name === 'sluice-endpoint-change');
    return v ? Object.values(v.byNft).map((x) => (x.error ? 'failed' : ms(x.medianMs))).join(' / ') : undefined;
  });
  for (const src of ['manifests', 'api'] as const) {
    const label = src === 'api' ? 'API' : 'manifests';
    if (!sz.some((s) => d(s, src))) continue;
    row(`**one endpoint change** to the kernel, p50 / p99 (n) (${label})`, (s) => { const x = d(s, src); return x ? `${ms(x.changeP50Ms)} / ${ms(x.changeP99Ms)} (${x.changes.length}${x.changesMissed ? `, ${x.changesMissed} never seen` : ''})` : undefined; });
    row(`change p50 / nft's own time (${label})`, (s) => { const x = d(s, src); const own = nftOwnChangeMs(s); return x && own ? ratio(x.changeP50Ms / own) : undefined; });
    row(`sluice's partial sync durationMs p50 (${label})`, (s) => { const x = d(s, src); const l = x?.changes.flatMap((c) => (c.syncDurationMs === undefined ? [] : [c.syncDurationMs])); return l?.length ? ms(percentile(l, 50)) : undefined; });
    row(`**burst** of endpoint changes: first write to the last in the kernel (syncs) (${label})`, (s) => { const b = d(s, src)?.burst; return b ? `${b.ms === null ? `${b.missed} of ${n(b.changes)} never seen` : ms(b.ms)} for ${n(b.changes)} (${b.syncs.length} syncs${b.detectedBy === 'monitor' ? '' : '; end from the sync log'})` : undefined; });
    row(`**peak RSS** (VmHWM) at the end / after the first sync (${label})`, (s) => { const x = d(s, src); return x ? `${mib(x.peakRssKiB)} / ${mib(x.peakRssAfterFirstSyncKiB)}` : undefined; });
  }
  row('load average (1 min) before → after', (s) => `${s.loadAverage.before[0].toFixed(1)} → ${(s.loadAverage.after[0] ?? NaN).toFixed(1)}`);
  out.push('');
}

/** nft's own time for small transactions, and what nft read from the kernel for each. */
function smallTable(r: Results, out: string[]): void {
  const sz = r.sizes.filter((s) => s.small);
  if (!sz.length) return;
  const nfts = Object.entries(sz[0].small!.nft);
  out.push('### nft\'s own time for a small transaction on the large table', '',
    `Each variant applied with \`nft -f\` to the namespace holding sluice's full ruleset (median of ${(r.options.smallReps as number | undefined) ?? '?'}, undone between runs); in brackets the KiB nft read from the kernel before its batch (strace of recvmsg), and the dumps that were: chains (GETCHAIN), sets (GETSET), set elements (GETSETELEM), rules (GETRULE). nft: ${nfts.map(([k, v]) => `${k} = ${v}`).join('; ')}.`, '',
    `| transaction | ${sz.flatMap((s) => nfts.map(([k]) => `${sizeLabel(s)} ${k}`)).join(' | ')} |`, `|---|${sz.flatMap(() => nfts.map(() => '---|')).join('')}`);
  for (const v of sz[0].small!.variants) {
    out.push(`| ${v.name}: ${v.what} | ${sz.flatMap((s) => nfts.map(([k]) => {
      const x = s.small!.variants.find((y) => y.name === v.name)?.byNft[k];
      if (!x) return '-';
      if (x.error) return `failed: ${x.error.slice(0, 60)}`;
      const nl = x.netlink;
      const dumps = nl ? Object.entries(nl.bytesByRequest).filter(([q, b]) => q.startsWith('GET') && b >= 1024).map(([q, b]) => `${q.replace('GET', '').toLowerCase()} ${Math.round(b / 1024)}`).join(', ') : '';
      return `${ms(x.medianMs)}${nl ? ` (${Math.round(nl.bytesReceived / 1024)} KiB${dumps ? `: ${dumps}` : ''})` : ''}`;
    })).join(' | ')} |`);
  }
  out.push('');
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

  sideBySide(r, out);
  smallTable(r, out);

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

  if (r.merged?.length) {
    out.push(`Stages from a second run (\`bench/merge-results.ts\`): ${r.merged.map((m) => `${m.size} ${m.stage} (${m.from}, load ${m.loadAverage.map((x) => x.toFixed(1)).join(' → ')})`).join('; ')}. Ratios between these and the other stages of the same size are across the two runs.`, '');
  }
  if (r.rederived && Object.keys(r.rederived).length) {
    out.push('Re-derived from sluice\'s logs (`bench/rederive-syncs.ts`: this run took sluice\'s "full sync still being applied" progress line for the end of a sync longer than 5 s):', '');
    for (const [k, notes] of Object.entries(r.rederived)) for (const x of notes) out.push(`- ${k}, ${x}`);
    out.push('');
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
