// Stage `run`: `sluice run` as a daemon in a fresh network namespace (the node's addresses on its lo),
// from the manifests folder or from the fake API server (bench/fake-api.ts) in the same namespace.
// Time from start to its first full sync (from its JSON log on stderr), then single-endpoint changes
// (an EndpointSlice's file rewritten, or one watch event), timed from the write to the new address
// being in the kernel (seen by `nft monitor`, with the service's map or chain listed as a backstop),
// then a burst of changes back to back (a rolling update), the process's peak RSS (VmHWM), and last a
// second sluice started over the tables the first one left (a restart).
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freshNamespace, NODE, type BenchContext } from './context.ts';
import { runTimed, runTimedOk, sleep, spawnTracked, vmHWMKiB, vmRSSKiB } from './proc.ts';
import { max, percentile } from './stats.ts';
import { NODE_IPS, type SyntheticCluster } from './synth.ts';

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

export type ChangeSource = 'manifests' | 'api';

export interface BurstResult {
  changes: number;
  /** first write to the kernel having the last of the new addresses (nft monitor) */
  ms: number | null;
  detectedBy: 'monitor' | 'sync log, checked by a listing';
  missed: number;
  /** the syncs sluice logged meanwhile */
  syncs: { kind?: string; durationMs: number }[];
}

export type DaemonResult =
  | { available: false; reason: string }
  | {
    available: true;
    source: ChangeSource;
    /** spawn to the log line of the first full sync (a new node: no tables) */
    firstFullSyncMs: number;
    nodeFlags: string[];
    /** the durationMs sluice logged for it */
    firstFullSyncLoggedMs?: number;
    firstSyncLine: Record<string, unknown>;
    changes: EndpointChange[];
    changeP50Ms: number;
    changeP99Ms: number;
    changeMaxMs: number;
    changesMissed: number;
    burst?: BurstResult;
    /** sluice run again over the tables the first one left (a restart): spawn to its first full sync */
    restartFullSyncMs?: number;
    restartFullSyncLoggedMs?: number;
    /** the restarted sluice's next full sync, made by `--full-sync-period` (what the hourly one costs, inside sluice): its durationMs */
    periodicFullSyncLoggedMs?: number;
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
  // `full sync still being applied by nft` (elapsedMs, every 5 s of a long sync) is progress, not the end.
  if (kind === undefined && /still/i.test(msg)) return undefined;
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
  return `10.250.${Math.floor(k / 250) % 256}.${(k % 250) + 1}`;
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
  cluster: SyntheticCluster;
  config: string;
  /** how sluice gets the cluster: the manifests folder, or the fake API server (one object per event) */
  source: ChangeSource;
  changes: number;
  /** endpoint changes made back to back after the single ones (a rolling update); 0: none */
  burst: number;
  /** run sluice again over the tables it left, and time its first full sync */
  restart: boolean;
  /** wait between changes, so each one is measured alone (sluice's minSyncPeriod and a margin) */
  gapMs: number;
  /** give up on the first sync after this long */
  startTimeoutMs: number;
  /** profile sluice (node --cpu-prof) into this folder; the timings are then not the real ones */
  profileDir?: string;
}

interface Sluice {
  pid: number;
  t0: number;
  syncs: { at: number; line: LogLine; report: { kind?: string; durationMs: number } }[];
  tail: string[];
  exited(): string | undefined;
  exit: Promise<string>;
  kill(sig: NodeJS.Signals): void;
}

function startSluice(ns: string, o: DaemonOptions, logOut: NodeJS.WritableStream, sourceArgs: string[], profFlags: string[], runFlags: string[] = []): Sluice {
  const args = ['netns', 'exec', ns, NODE, ...o.nodeFlags, ...profFlags, o.sluice, 'run', ...sourceArgs, '--config', o.config, '--node', 'node1', '--log-format', 'json', ...runFlags];
  const t0 = performance.now();
  // `ip netns exec` execs the command: the child's pid is sluice's.
  const daemon = spawnTracked('ip', args, ['ignore', 'ignore', 'pipe']);
  let exited: string | undefined;
  const exit = new Promise<string>((resolve) => {
    daemon.on('exit', (code, signal) => { exited = signal ? `signal ${signal}` : `exit ${code}`; resolve(exited); });
  });
  const s: Sluice = { pid: daemon.pid!, t0, syncs: [], tail: [], exited: () => exited, exit, kill: (sig) => { daemon.kill(sig); } };
  createInterface({ input: daemon.stderr! }).on('line', (text) => {
    logOut.write(text + '\n');
    s.tail.push(text);
    if (s.tail.length > 20) s.tail.shift();
    let line: LogLine;
    try { line = JSON.parse(text); } catch { return; }
    const report = syncReport(line);
    if (report) s.syncs.push({ at: performance.now(), line, report });
  });
  return s;
}

/** The fake API server in the namespace, fed the cluster's folder; apply() sends objects as watch events. */
async function startApi(ctx: BenchContext, ns: string, dir: string, kubeconfig: string, timeoutMs: number) {
  const child = spawnTracked('ip', ['netns', 'exec', ns, NODE, FAKE_API, dir, kubeconfig], ['pipe', 'pipe', 2]);
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  const ready = await waitFor(() => lines.find((l) => l.startsWith('ready')), timeoutMs, () => child.exitCode !== null);
  if (!ready) throw new Error('the fake API server did not start');
  ctx.progress(`  fake API server in ${ns}: ${ready}`);
  return {
    apply(objs: unknown[]) { child.stdin!.write(objs.map((x) => JSON.stringify(x)).join('\n') + '\n'); },
    stop() { child.stdin!.end(); child.kill('SIGTERM'); },
  };
}

const FAKE_API = fileURLToPath(new URL('./fake-api.ts', import.meta.url));

/** The address the k-th change of a burst gives its service: 10.252.0.0/16, apart from the single changes'. */
export function burstAddress(k: number): string {
  return `10.252.${Math.floor(k / 250) % 256}.${(k % 250) + 1}`;
}

export async function measureDaemon(ctx: BenchContext, o: DaemonOptions): Promise<DaemonResult> {
  if (!(await runAvailable(o.sluice))) {
    return { available: false, reason: 'sluice run not available (`sluice help` does not list it)' };
  }
  const services = o.cluster.opts.services;
  const tag = `${services}x${o.cluster.opts.endpoints}-${o.source}`;
  const { ns, remove } = await freshNamespace(ctx, `run${services}${o.source === 'api' ? 'a' : 'm'}`);
  // The node's addresses (on lo: this kernel has no dummy interfaces), as on a node: health-check
  // node ports listen on them.
  await runTimedOk('ip', ['netns', 'exec', ns, 'sh', '-c', `ip link set lo up && ip addr add ${NODE_IPS[0]}/32 dev lo && ip addr add ${NODE_IPS[1]}/128 dev lo nodad`], { timeoutMs: 10_000 });
  const logFile = join(ctx.workDir, `run-${tag}.log`);
  const logOut = createWriteStream(logFile);
  const profFlags = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  if (o.profileDir) {
    rmSync(o.profileDir, { recursive: true, force: true });
    mkdirSync(o.profileDir, { recursive: true });
  }
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  let sourceArgs = ['--from', o.cluster.dir];
  if (o.source === 'api') {
    const kubeconfig = join(ctx.workDir, `kubeconfig-${tag}.json`);
    api = await startApi(ctx, ns, o.cluster.dir, kubeconfig, o.startTimeoutMs);
    sourceArgs = ['--kubeconfig', kubeconfig];
  }
  // One endpoint change, as the source carries it: a file rewritten, or one watch event.
  const change = (service: number, address: string) => {
    if (api) {
      o.cluster.setEndpoint(service, address);
      api.apply([o.cluster.slice(service)]);
    } else {
      o.cluster.editEndpoint(service, address);
    }
  };
  let sl = startSluice(ns, o, logOut, sourceArgs, profFlags);
  let monitor: ChildProcess | undefined;

  try {
    ctx.progress(`  ${['node', ...o.nodeFlags].join(' ')} sluice run ${sourceArgs[0]} started in ${ns} (pid ${sl.pid}); waiting for the first full sync`);
    const first = await waitFor(() => sl.syncs.find((s) => s.report.kind === 'full' || s.report.kind === undefined), o.startTimeoutMs, sl.exited);
    if (!first) throw new Error(`no full sync logged ${sl.exited() ? `(sluice ${sl.exited()})` : `in ${o.startTimeoutMs} ms`}; last log lines:\n${sl.tail.join('\n')}`);
    const firstFullSyncMs = first.at - sl.t0;
    const peakRssAfterFirstSyncKiB = vmHWMKiB(sl.pid);
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
      const address = `10.251.${Math.floor(warmUps / 250) % 256}.${(warmUps % 250) + 1}`;
      warmUps++;
      let w: ((line: string) => void) | undefined;
      const seenIt = new Promise<boolean>((resolve) => {
        w = (line) => { if (addressPattern(address).test(line)) resolve(true); };
        monitorWaiters.add(w);
      });
      change(0, address);
      const seen = await Promise.race([seenIt, sleep(5000).then(() => false)]);
      monitorWaiters.delete(w!);
      if (seen) break;
      if (sl.exited()) throw new Error(`sluice ${sl.exited()} before the endpoint changes; last log lines:\n${sl.tail.join('\n')}`);
      if (performance.now() - warmUpAt > o.startTimeoutMs) {
        throw new Error(`nft monitor saw none of ${warmUps} warm-up changes in ${o.startTimeoutMs} ms; last log lines:\n${sl.tail.join('\n')}`);
      }
    }
    ctx.progress(`  nft monitor ready after ${warmUps} warm-up change(s), ${((performance.now() - warmUpAt) / 1000).toFixed(1)} s (not counted)`);
    await sleep(o.gapMs);

    const changes: EndpointChange[] = [];
    const nowUs = () => Number(process.hrtime.bigint() / 1000n);
    const fromUs = nowUs();
    for (let k = 0; k < o.changes; k++) {
      // Spread over the table; never service 0, the warm-up's.
      const service = Math.min(services - 1, Math.max(1, Math.floor(((k + 0.5) * services) / o.changes)));
      const address = changedAddress(k);
      const needle = addressPattern(address);
      let onLine: ((line: string) => void) | undefined;
      const byMonitor = new Promise<number>((resolve) => {
        onLine = (line) => { if (needle.test(line)) resolve(performance.now()); };
        monitorWaiters.add(onLine);
      });
      const syncsBefore = sl.syncs.length;
      const written = performance.now();
      change(service, address);
      const done = { value: false };
      const detected = await Promise.race([
        byMonitor.then((at) => ({ at, by: 'monitor' as const })),
        pollKernel(ns, service, needle, 5000, 60_000, done).then((at) => (at === null ? { at: null, by: 'none' as const } : { at, by: 'poll' as const })),
      ]);
      done.value = true;
      monitorWaiters.delete(onLine!);
      if (sl.exited()) throw new Error(`sluice ${sl.exited()} during the endpoint changes; last log lines:\n${sl.tail.join('\n')}`);
      // sluice logs the sync once nft has returned, a moment after the kernel has the change.
      const sync = await waitFor(() => sl.syncs[syncsBefore], 5000, sl.exited);
      const c: EndpointChange = {
        service, address,
        latencyMs: detected.at === null ? null : detected.at - written,
        detectedBy: detected.by,
        syncKind: sync?.report.kind,
        syncDurationMs: sync?.report.durationMs,
        syncLoggedAfterMs: sync ? sync.at - written : undefined,
        rssKiB: vmRSSKiB(sl.pid),
      };
      changes.push(c);
      if (k % 10 === 9 || k === o.changes - 1 || c.latencyMs === null) {
        ctx.progress(`  change ${k + 1}/${o.changes} (svc-${service}): ${c.latencyMs === null ? 'never seen' : `${c.latencyMs.toFixed(0)} ms`} (${c.detectedBy}; ${c.syncKind ?? '?'} sync of ${c.syncDurationMs ?? '?'} ms; RSS ${c.rssKiB === undefined ? '?' : Math.round(c.rssKiB / 1024)} MiB)`);
      }
      await sleep(o.gapMs);
    }
    const toUs = nowUs();

    let burst: BurstResult | undefined;
    if (o.burst > 0) {
      const n = Math.min(o.burst, services - 1);
      const targets = Array.from({ length: n }, (_, k) => 1 + Math.floor((k * (services - 1)) / n));
      const pending = new Set(targets.map((_, k) => burstAddress(k)));
      let lastAt = 0;
      const w = (line: string) => {
        for (const m of line.matchAll(/10\.252\.\d+\.\d+/g)) if (pending.delete(m[0])) lastAt = performance.now();
      };
      monitorWaiters.add(w);
      const syncsBefore = sl.syncs.length;
      const startedAt = performance.now();
      if (api) {
        for (let k = 0; k < n; k++) o.cluster.setEndpoint(targets[k], burstAddress(k));
        for (let k = 0; k < n; k++) api.apply([o.cluster.slice(targets[k])]);
      } else {
        for (let k = 0; k < n; k++) o.cluster.setEndpoint(targets[k], burstAddress(k));
        o.cluster.flush(targets);
      }
      const writtenAt = performance.now();
      // nft monitor drops events when a large transaction overruns its socket buffer: when it has not
      // seen them all, the end is the last sync sluice logged (it logs once nft has returned), checked
      // against a listing of the table once sluice has been quiet for 3 s.
      await waitFor(() => {
        if (pending.size === 0) return true;
        const last = sl.syncs.at(-1);
        const quietSince = Math.max(writtenAt, last && sl.syncs.length > syncsBefore ? last.at : writtenAt);
        return sl.syncs.length > syncsBefore && performance.now() - quietSince > 3000 ? true : undefined;
      }, 180_000, sl.exited);
      monitorWaiters.delete(w);
      let by: BurstResult['detectedBy'] = 'monitor';
      let endAt = lastAt;
      if (pending.size > 0) {
        const listed = await runTimed('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip', 'sluice'], { timeoutMs: 300_000 });
        for (const m of listed.stdout.matchAll(/10\.252\.\d+\.\d+/g)) pending.delete(m[0]);
        by = 'sync log, checked by a listing';
        endAt = sl.syncs.at(-1)!.at;
      }
      await sleep(o.gapMs);
      burst = {
        changes: n,
        ms: pending.size === 0 ? endAt - startedAt : null,
        detectedBy: by,
        missed: pending.size,
        syncs: sl.syncs.slice(syncsBefore).map((s) => s.report),
      };
      ctx.progress(`  burst of ${n} endpoint changes: ${burst.ms === null ? `${burst.missed} never seen` : `${(burst.ms / 1000).toFixed(2)} s`} to the kernel; ${burst.syncs.length} syncs (${burst.syncs.map((s) => `${s.kind} ${s.durationMs} ms`).join(', ')})`);
    }

    const peakRssKiB = vmHWMKiB(sl.pid);
    const rssAtEndKiB = vmRSSKiB(sl.pid);
    sl.kill('SIGTERM');
    const exit = await Promise.race([sl.exit, sleep(10_000).then(() => 'did not stop within 10 s of SIGTERM; killed')]);
    if (!sl.exited()) sl.kill('SIGKILL');
    const profiles = o.profileDir ? readdirSync(o.profileDir).filter((f) => f.endsWith('.cpuprofile')) : [];

    let restartFullSyncMs: number | undefined;
    let restartFullSyncLoggedMs: number | undefined;
    let periodicFullSyncLoggedMs: number | undefined;
    if (o.restart) {
      // The hour shortened, so that its periodic full sync comes at the next periodic check after the first.
      sl = startSluice(ns, o, logOut, sourceArgs, [], ['--full-sync-period', '5s']);
      const isFull = (s: { report: { kind?: string } }) => s.report.kind === 'full' || s.report.kind === undefined;
      const again = await waitFor(() => sl.syncs.find(isFull), o.startTimeoutMs, sl.exited);
      if (again) {
        restartFullSyncMs = again.at - sl.t0;
        restartFullSyncLoggedMs = again.report.durationMs;
        ctx.progress(`  restarted over its tables: full sync after ${(restartFullSyncMs / 1000).toFixed(2)} s (logged durationMs ${restartFullSyncLoggedMs})`);
        const periodic = await waitFor(() => sl.syncs.filter(isFull)[1], o.startTimeoutMs, sl.exited);
        periodicFullSyncLoggedMs = periodic?.report.durationMs;
        ctx.progress(`  its periodic full sync: ${periodic ? `logged durationMs ${periodicFullSyncLoggedMs}` : 'none seen'}`);
      }
      sl.kill('SIGTERM');
      await Promise.race([sl.exit, sleep(10_000)]);
    }

    const latencies = changes.flatMap((c) => (c.latencyMs === null ? [] : [c.latencyMs]));
    return {
      available: true,
      source: o.source,
      firstFullSyncMs,
      nodeFlags: o.nodeFlags,
      firstFullSyncLoggedMs: first.report.durationMs,
      firstSyncLine: first.line,
      changes,
      changeP50Ms: percentile(latencies, 50),
      changeP99Ms: percentile(latencies, 99),
      changeMaxMs: max(latencies),
      changesMissed: changes.length - latencies.length,
      burst,
      restartFullSyncMs,
      restartFullSyncLoggedMs,
      periodicFullSyncLoggedMs,
      peakRssKiB,
      peakRssAfterFirstSyncKiB,
      rssAtEndKiB,
      logFile,
      exit,
      ...(profiles.length ? { profile: { file: join(o.profileDir!, profiles[0]), fromUs, toUs } } : {}),
    };
  } finally {
    monitor?.kill('SIGKILL');
    if (!sl.exited()) sl.kill('SIGKILL');
    api?.stop();
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
