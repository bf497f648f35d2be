// Stage 3: `sluice run` as a daemon in a fresh network namespace. Time from start to its first full
// sync (from its JSON log on stderr), then single-endpoint changes: one EndpointSlice file edited, timed
// from the write to the new address being in the kernel (seen by `nft monitor`, with the service's map
// or chain listed as a backstop), and the process's peak RSS (VmHWM) at the end.
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freshNamespace, NODE, type BenchContext } from './context.ts';
import { runTimed, sleep, spawnTracked, vmHWMKiB, vmRSSKiB } from './proc.ts';
import { max, percentile } from './stats.ts';
import type { SynthOptions } from './synth.ts';

export interface EndpointChange {
  service: number;
  address: string;
  /** write to the address being in the kernel; null when it never appeared */
  latencyMs: number | null;
  detectedBy: 'monitor' | 'poll' | 'none';
  /** the first sync sluice logged after the write */
  syncKind?: string;
  syncDurationMs?: number;
  /** write to that sync's log line arriving (sluice logs it once nft has returned) */
  syncLoggedAfterMs?: number;
  /** sluice's resident set once the change was in (a trend over the changes shows growth) */
  rssKiB?: number;
}

export type DaemonResult =
  | { available: false; reason: string }
  | {
    available: true;
    /** spawn to the log line of the first full sync */
    firstFullSyncMs: number;
    nodeFlags: string[];
    /** the durationMs sluice logged for it */
    firstFullSyncLoggedMs?: number;
    firstSyncLine: Record<string, unknown>;
    changes: EndpointChange[];
    changeP50Ms: number;
    changeMaxMs: number;
    changesMissed: number;
    peakRssKiB?: number;
    /** the peak right after the first full sync, and the resident set at the end */
    peakRssAfterFirstSyncKiB?: number;
    rssAtEndKiB?: number;
    logFile: string;
    exit: string;
    /** with profileDir: the profile, and the stretch of it that the endpoint changes took */
    profile?: { file: string; fromUs: number; toUs: number };
  };

/** Whether this sluice has the run command: `sluice help` lists it. */
export async function runAvailable(sluice: string): Promise<boolean> {
  const r = await runTimed(NODE, [sluice, 'help'], { timeoutMs: 60_000 });
  return /^\s+run\b/m.test(r.stdout);
}

type LogLine = Record<string, unknown>;

/** A sync report in sluice's log: a duration and a kind (full|partial), or a message about a sync. */
export function syncReport(line: LogLine): { kind?: string; durationMs: number } | undefined {
  const duration = line.durationMs ?? line.duration_ms ?? line.elapsedMs;
  if (typeof duration !== 'number') return undefined;
  const kind = typeof line.kind === 'string' ? line.kind : undefined;
  const msg = typeof line.msg === 'string' ? line.msg : '';
  if (kind === 'full' || kind === 'partial' || /sync/i.test(msg)) return { kind, durationMs: duration };
  return undefined;
}

/** Where the service's endpoints are in the kernel: a map of them, or (other rule shapes) its chain. */
export function endpointHolders(service: number): string[][] {
  return [['map', 'ip', 'sluice', `eps/bench/svc-${service}/tcp/http`], ['chain', 'ip', 'sluice', `svc/bench/svc-${service}/tcp/http`]];
}

/** Matches the address in nft's text (`10.250.0.1 . 8080` in a map, `10.250.0.1:8080` in a rule), not a longer one. */
export function addressPattern(address: string): RegExp {
  return new RegExp(`(^|[^0-9.])${address.replaceAll('.', '\\.')}(?![0-9])`);
}

/** The address the k-th change gives endpoint 0 of its service: outside the synthetic pod range. */
export function changedAddress(k: number): string {
  return `10.250.${(k >> 8) & 255}.${(k & 255) + 1}`;
}

/** Replaces the first endpoint's address in the service's EndpointSlice file; write-and-rename. */
export function editEndpoint(dir: string, service: number, address: string): void {
  const file = join(dir, 'endpointslices', `svc-${service}.json`);
  const slice = JSON.parse(readFileSync(file, 'utf8'));
  slice.endpoints[0].addresses = [address];
  const tmp = join(dir, 'endpointslices', `.svc-${service}.json.tmp`);
  writeFileSync(tmp, JSON.stringify(slice));
  renameSync(tmp, file);
}

export interface DaemonOptions {
  sluice: string;
  /** node flags, as the DaemonSet's image runs sluice */
  nodeFlags: string[];
  dir: string;
  config: string;
  synth: SynthOptions;
  changes: number;
  /** wait between changes, so each one is measured alone (sluice's minSyncPeriod and a margin) */
  gapMs: number;
  /** give up on the first sync after this long */
  startTimeoutMs: number;
  /** profile sluice (node --cpu-prof) into this folder; the timings are then not the real ones */
  profileDir?: string;
}

export async function measureDaemon(ctx: BenchContext, o: DaemonOptions): Promise<DaemonResult> {
  if (!(await runAvailable(o.sluice))) {
    return { available: false, reason: 'sluice run not available (`sluice help` does not list it)' };
  }
  const { ns, remove } = await freshNamespace(ctx, `run${o.synth.services}`);
  const logFile = join(ctx.workDir, `run-${o.synth.services}x${o.synth.endpoints}.log`);
  const logOut = createWriteStream(logFile);
  const profFlags = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  if (o.profileDir) {
    rmSync(o.profileDir, { recursive: true, force: true });
    mkdirSync(o.profileDir, { recursive: true });
  }
  const args = ['netns', 'exec', ns, NODE, ...o.nodeFlags, ...profFlags, o.sluice, 'run', '--from', o.dir, '--config', o.config, '--node', 'node1', '--log-format', 'json'];
  const t0 = performance.now();
  // `ip netns exec` execs the command: the child's pid is sluice's.
  const daemon = spawnTracked('ip', args, ['ignore', 'ignore', 'pipe']);
  let monitor: ChildProcess | undefined;
  const syncs: { at: number; line: LogLine; report: { kind?: string; durationMs: number } }[] = [];
  let exited: string | undefined;
  const exitPromise = new Promise<string>((resolve) => {
    daemon.on('exit', (code, signal) => { exited = signal ? `signal ${signal}` : `exit ${code}`; resolve(exited); });
  });
  const tail: string[] = [];
  createInterface({ input: daemon.stderr! }).on('line', (text) => {
    logOut.write(text + '\n');
    tail.push(text);
    if (tail.length > 20) tail.shift();
    let line: LogLine;
    try { line = JSON.parse(text); } catch { return; }
    const report = syncReport(line);
    if (report) syncs.push({ at: performance.now(), line, report });
  });

  try {
    ctx.progress(`  ${['node', ...o.nodeFlags].join(' ')} sluice run started in ${ns} (pid ${daemon.pid}); waiting for the first full sync`);
    const first = await waitFor(() => syncs.find((s) => s.report.kind === 'full' || s.report.kind === undefined), o.startTimeoutMs, () => exited);
    if (!first) throw new Error(`no full sync logged ${exited ? `(sluice ${exited})` : `in ${o.startTimeoutMs} ms`}; last log lines:\n${tail.join('\n')}`);
    const firstFullSyncMs = first.at - t0;
    const peakRssAfterFirstSyncKiB = vmHWMKiB(daemon.pid!);
    ctx.progress(`  first full sync after ${(firstFullSyncMs / 1000).toFixed(2)} s (logged durationMs ${first.report.durationMs})`);
    await checkTables(ns);

    const monitorWaiters = new Set<(line: string) => void>();
    // Every new object, not just elements: whatever shape the rules have, the address shows up in an
    // element or a rule the moment the kernel commits the change.
    monitor = spawnTracked('ip', ['netns', 'exec', ns, 'nft', 'monitor', 'new'], ['ignore', 'pipe', 'ignore']);
    createInterface({ input: monitor.stdout! }).on('line', (line) => {
      for (const w of monitorWaiters) w(line);
    });

    // Changes, not counted, until the monitor reports one: on a large table nft monitor reads the
    // kernel's ruleset into its cache before it subscribes, and misses what happens meanwhile.
    const warmUpAt = performance.now();
    let warmUps = 0;
    for (;;) {
      const address = `10.251.${(warmUps >> 8) & 255}.${(warmUps & 255) + 1}`;
      warmUps++;
      let w: ((line: string) => void) | undefined;
      const seenIt = new Promise<boolean>((resolve) => {
        w = (line) => { if (addressPattern(address).test(line)) resolve(true); };
        monitorWaiters.add(w);
      });
      editEndpoint(o.dir, 0, address);
      const seen = await Promise.race([seenIt, sleep(5000).then(() => false)]);
      monitorWaiters.delete(w!);
      if (seen) break;
      if (exited) throw new Error(`sluice ${exited} before the endpoint changes; last log lines:\n${tail.join('\n')}`);
      if (performance.now() - warmUpAt > o.startTimeoutMs) {
        throw new Error(`nft monitor saw none of ${warmUps} warm-up changes in ${o.startTimeoutMs} ms; last log lines:\n${tail.join('\n')}`);
      }
    }
    ctx.progress(`  nft monitor ready after ${warmUps} warm-up change(s), ${((performance.now() - warmUpAt) / 1000).toFixed(1)} s (not counted)`);
    await sleep(o.gapMs);

    const changes: EndpointChange[] = [];
    const nowUs = () => Number(process.hrtime.bigint() / 1000n);
    const fromUs = nowUs();
    for (let k = 0; k < o.changes; k++) {
      // Spread over the table; never service 0, the warm-up's.
      const service = Math.min(o.synth.services - 1, Math.max(1, Math.floor(((k + 0.5) * o.synth.services) / o.changes)));
      const address = changedAddress(k);
      const needle = addressPattern(address);
      let onLine: ((line: string) => void) | undefined;
      const byMonitor = new Promise<number>((resolve) => {
        onLine = (line) => { if (needle.test(line)) resolve(performance.now()); };
        monitorWaiters.add(onLine);
      });
      const syncsBefore = syncs.length;
      editEndpoint(o.dir, service, address);
      const written = performance.now();
      const done = { value: false };
      const detected = await Promise.race([
        byMonitor.then((at) => ({ at, by: 'monitor' as const })),
        pollKernel(ns, service, needle, 5000, 60_000, done).then((at) => (at === null ? { at: null, by: 'none' as const } : { at, by: 'poll' as const })),
      ]);
      done.value = true;
      monitorWaiters.delete(onLine!);
      if (exited) throw new Error(`sluice ${exited} during the endpoint changes; last log lines:\n${tail.join('\n')}`);
      // sluice logs the sync once nft has returned, a moment after the kernel has the change.
      const sync = await waitFor(() => syncs[syncsBefore], 5000, () => exited);
      const change: EndpointChange = {
        service, address,
        latencyMs: detected.at === null ? null : detected.at - written,
        detectedBy: detected.by,
        syncKind: sync?.report.kind,
        syncDurationMs: sync?.report.durationMs,
        syncLoggedAfterMs: sync ? sync.at - written : undefined,
        rssKiB: vmRSSKiB(daemon.pid!),
      };
      changes.push(change);
      ctx.progress(`  change ${k + 1}/${o.changes} (svc-${service}): ${change.latencyMs === null ? 'never seen' : `${change.latencyMs.toFixed(0)} ms`} (${change.detectedBy}; ${change.syncKind ?? '?'} sync of ${change.syncDurationMs ?? '?'} ms logged ${change.syncLoggedAfterMs === undefined ? '?' : Math.round(change.syncLoggedAfterMs)} ms after the write; RSS ${change.rssKiB === undefined ? '?' : Math.round(change.rssKiB / 1024)} MiB)`);
      await sleep(o.gapMs);
    }

    const toUs = nowUs();
    const peakRssKiB = vmHWMKiB(daemon.pid!);
    const rssAtEndKiB = vmRSSKiB(daemon.pid!);
    daemon.kill('SIGTERM');
    const exit = await Promise.race([exitPromise, sleep(10_000).then(() => 'did not stop within 10 s of SIGTERM; killed')]);
    if (!exited) daemon.kill('SIGKILL');
    const latencies = changes.flatMap((c) => (c.latencyMs === null ? [] : [c.latencyMs]));
    const profiles = o.profileDir ? readdirSync(o.profileDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    return {
      available: true,
      firstFullSyncMs,
      nodeFlags: o.nodeFlags,
      firstFullSyncLoggedMs: first.report.durationMs,
      firstSyncLine: first.line,
      changes,
      changeP50Ms: percentile(latencies, 50),
      changeMaxMs: max(latencies),
      changesMissed: changes.length - latencies.length,
      peakRssKiB,
      peakRssAfterFirstSyncKiB,
      rssAtEndKiB,
      logFile,
      exit,
      ...(profiles.length ? { profile: { file: join(o.profileDir!, profiles[0]), fromUs, toUs } } : {}),
    };
  } finally {
    monitor?.kill('SIGKILL');
    if (!exited) daemon.kill('SIGKILL');
    logOut.end();
    await remove();
  }
}

async function waitFor<T>(find: () => T | undefined, timeoutMs: number, stop: () => unknown): Promise<T | undefined> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const found = find();
    if (found !== undefined || stop()) return found;
    await sleep(20);
  }
  return find();
}

async function checkTables(ns: string): Promise<void> {
  const r = await runTimed('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'], { timeoutMs: 120_000 });
  if (!/^table ip sluice$/m.test(r.stdout)) throw new Error(`after the first full sync, there is no table ip sluice in the kernel: ${r.stdout}${r.stderr}`);
}

/** The backstop: after `afterMs`, lists the service's map or chain every second until the address shows up, or `done`. */
async function pollKernel(ns: string, service: number, needle: RegExp, afterMs: number, timeoutMs: number, done: { value: boolean }): Promise<number | null> {
  const start = performance.now();
  await sleep(afterMs);
  while (!done.value && performance.now() - start < timeoutMs) {
    for (const holder of endpointHolders(service)) {
      const r = await runTimed('ip', ['netns', 'exec', ns, 'nft', 'list', ...holder], { timeoutMs: 60_000 });
      if (needle.test(r.stdout)) return performance.now();
    }
    await sleep(1000);
  }
  return null;
}
