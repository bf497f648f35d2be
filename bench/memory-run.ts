// `sluice run` in one process for the memory benchmark (bench/memory.ts): the real source, store,
// sync loop and plan, from a manifests folder or from the fake API server (bench/fake-api.ts, a child
// process of its own), but with an nft runner that reads each script and keeps nothing, no servers,
// no conntrack, no node settings. It measures after the first full sync and after --changes endpoint
// changes (a List file of EndpointSlices rewritten, or one watch event each), and prints one JSON line.
//   node --expose-gc [node flags] bench/memory-run.ts DIR --source manifests|api --config CFG
//        --services N --endpoints E [--changes 10] [--heap-profile FILE] [--as-served]
// --as-served: the fake API server serves objects with what a real one's carry (managedFields and so on).
// --heap-profile writes a sampling heap profile of what is live right after the first full sync
// (read it with bench/heap-top.ts): allocated since start and not collected by then.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../lib/config/kube-proxy-config.ts';
import { createLogger } from '../lib/log.ts';
import { scriptChunks, type NftRunner, type Script } from '../lib/nft/runner.ts';
import { runProxy } from '../lib/run.ts';
import { memorySnapshot, type MemorySnapshot } from './memory-probe.ts';
import { NODE_NAME, SyntheticCluster } from './synth.ts';
import { changedAddress } from './daemon.ts';

/** Takes every chunk of a script (so it is made, as nft would read it) and keeps none; counts applies. */
class DiscardingNft implements NftRunner {
  applies = 0;
  bytes = 0;
  private waiters: (() => void)[] = [];
  async apply(script: Script): Promise<void> {
    for (const c of scriptChunks(script)) this.bytes += c.length;
    this.applies++;
    for (const w of this.waiters.splice(0)) w();
  }
  async tables() { return [{ family: 'ip', name: 'sluice', handle: 1 }, { family: 'ip6', name: 'sluice', handle: 1 }]; }
  async inventory() { return undefined; }
  /** Resolves once `n` scripts have been applied in all; a change that never reaches nft fails the run. */
  async applied(n: number, timeoutMs = 60_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.applies < n) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no nft transaction within ${timeoutMs} ms (${this.applies} of ${n} applied)`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      source: { type: 'string', default: 'manifests' }, config: { type: 'string' },
      services: { type: 'string' }, endpoints: { type: 'string' }, changes: { type: 'string', default: '10' }, 'heap-profile': { type: 'string' }, 'as-served': { type: 'boolean', default: false },
    },
  });
  const dir = positionals[0];
  const cluster = new SyntheticCluster(dir, { services: Number(values.services), endpoints: Number(values.endpoints), mix: 'realistic', layout: 'lists' });
  const log = createLogger({ level: (process.env.SLUICE_MEMORY_LOG as 'info') ?? 'warn' });
  const config = loadConfigFile(values.config!, () => {});
  const nft = new DiscardingNft();

  let api: ReturnType<typeof spawn> | undefined;
  let apiLines: AsyncIterator<string> | undefined;
  let kubeconfig: string | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-mem-'));
  if (values.source === 'api') {
    kubeconfig = join(tmp, 'kubeconfig');
    api = spawn(process.execPath, [new URL('./fake-api.ts', import.meta.url).pathname, dir, kubeconfig, ...(values['as-served'] ? ['--as-served'] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
    apiLines = createInterface({ input: api.stdout! })[Symbol.asyncIterator]();
    const ready = await apiLines.next();
    if (!String(ready.value).startsWith('ready')) throw new Error(`fake API server: ${ready.value}`);
  }
  const profiler = values['heap-profile'] ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    // Every 32 KiB allocated, a sample with its stack; kept until the object is collected.
    await profiler.post('HeapProfiler.startSampling', { samplingInterval: 32768 });
  }
  // Time in garbage collection, the cost of the flags that keep the heap small.
  let gcMs = 0;
  const gcObserver = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcMs += e.duration; });
  gcObserver.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  const proxy = await runProxy({
    config, nodeName: NODE_NAME, log, nft, from: values.source === 'api' ? undefined : dir, kubeconfig,
    conntrack: { reconcile: async () => ({ deleted: { IPv4: 0, IPv6: 0 } }) },
    nodeFiles: false, serve: false, kubeProxyLeftovers: false,
  });
  await nft.applied(2); // a full sync: one script per family
  await proxy.loop.idle();
  const firstSyncMs = performance.now() - t0;
  const afterFirstSync: MemorySnapshot = memorySnapshot();
  if (profiler) {
    const { profile } = await profiler.post('HeapProfiler.stopSampling');
    writeFileSync(values['heap-profile']!, JSON.stringify(profile));
    profiler.disconnect();
  }

  const changes = Number(values.changes);
  const changeMs: number[] = [];
  for (let k = 0; k < changes; k++) {
    // Spread over the files, so that each change re-reads a different List (and its 1,000 slices).
    const service = Math.floor((k * cluster.opts.services) / Math.max(changes, 1)) + (k % 7);
    const before = nft.applies;
    const t = performance.now();
    cluster.setEndpoint(service, changedAddress(k));
    if (api) {
      api.stdin!.write(JSON.stringify(cluster.slice(service)) + '\n');
      await apiLines!.next(); // `ok N`: the watch event is out
    } else {
      cluster.flush([service]);
    }
    await nft.applied(before + 1);
    await proxy.loop.idle();
    changeMs.push(performance.now() - t);
  }
  const gcBeforeSnapshot = gcMs; // not the snapshot's own collection
  const afterChanges = memorySnapshot();
  gcObserver.disconnect();
  await proxy.stop();
  if (api) { api.stdin!.end(); await once(api, 'exit'); }
  rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ source: values.source, firstSyncMs, changeMs, gcMs: gcBeforeSnapshot, scriptBytes: nft.bytes, afterFirstSync, afterChanges }) + '\n');
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`memory-run: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
