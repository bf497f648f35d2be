// The benchmark's generators and bookkeeping (bench/): what they write, and that the kube-proxy
// iptables-mode rules load. Nothing here is timed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressPattern, changedAddress, editEndpoint, syncReport } from '../../bench/daemon.ts';
import { base32, endpointChain, iptablesRestoreScript, serviceChain } from '../../bench/iptables.ts';
import { labEndpoints, writeLabCluster } from '../../bench/lab-cluster.ts';
import { summarize, type CpuProfile } from '../../bench/profile-top.ts';
import { checkTargets, spliceResults, BEGIN, END, type Results } from '../../bench/results.ts';
import { rederive } from '../../bench/rederive-syncs.ts';
import { median, percentile } from '../../bench/stats.ts';
import { podAddress, serviceIP, writeSyntheticCluster } from '../../bench/synth.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import { nftAvailable, withNetns } from '../support/netns.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sluice-bench-test-'));
}

function hasIptablesRestore(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v iptables-restore'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('synthetic cluster', () => {
  test('one file per Service and per EndpointSlice, plus the Node, all read back', () => {
    const dir = tempDir();
    try {
      writeSyntheticCluster(dir, { services: 25, endpoints: 4 });
      expect(readdirSync(join(dir, 'services'))).toHaveLength(25);
      expect(readdirSync(join(dir, 'endpointslices'))).toHaveLength(25);
      const loaded = loadManifests(dir);
      const objects = loaded.store.objects();
      expect([...objects.services]).toHaveLength(25);
      expect([...objects.endpointSlices]).toHaveLength(25);
      expect([...objects.nodes]).toHaveLength(1);
      const slice = JSON.parse(readFileSync(join(dir, 'endpointslices', 'svc-24.json'), 'utf8'));
      expect(slice.endpoints.map((e: { addresses: string[] }) => e.addresses[0])).toEqual([0, 1, 2, 3].map((j) => podAddress(24 * 4 + j)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the lab variant backs the first and the last service with the given pods, and only those', () => {
    const dir = tempDir();
    const pods = ['10.244.1.11', '10.244.1.12'];
    const opts = { services: 10, endpoints: 3 };
    try {
      writeLabCluster(dir, opts, pods);
      const addresses = (i: number) => JSON.parse(readFileSync(join(dir, 'endpointslices', `svc-${i}.json`), 'utf8'))
        .endpoints.map((e: { addresses: string[] }) => e.addresses[0]);
      expect(addresses(0)).toEqual(pods);
      expect(addresses(9)).toEqual(pods);
      expect(addresses(5)).toEqual([0, 1, 2].map((j) => podAddress(5 * 3 + j)));
      for (let i = 0; i < 10; i++) expect(labEndpoints(i, opts, pods)).toEqual(addresses(i));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an endpoint change rewrites one address and leaves no temporary file', () => {
    const dir = tempDir();
    try {
      writeSyntheticCluster(dir, { services: 3, endpoints: 2 });
      editEndpoint(dir, 1, changedAddress(0));
      const slice = JSON.parse(readFileSync(join(dir, 'endpointslices', 'svc-1.json'), 'utf8'));
      expect(slice.endpoints.map((e: { addresses: string[] }) => e.addresses[0])).toEqual(['10.250.0.1', podAddress(3)]);
      expect(readdirSync(join(dir, 'endpointslices')).sort()).toEqual(['svc-0.json', 'svc-1.json', 'svc-2.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kube-proxy iptables-mode rules', () => {
  test('base32 as RFC 4648 writes it (no padding)', () => {
    expect(base32(Buffer.from(''))).toBe('');
    expect(base32(Buffer.from('f'))).toBe('MY');
    expect(base32(Buffer.from('fo'))).toBe('MZXQ');
    expect(base32(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
  });

  test('a linear KUBE-SERVICES chain, a KUBE-SVC chain per service, a KUBE-SEP chain per endpoint', () => {
    const script = iptablesRestoreScript({ services: 50, endpoints: 3 });
    const lines = script.split('\n');
    const nat = lines.slice(lines.indexOf('*nat'));
    const declared = nat.filter((l) => l.startsWith(':'));
    expect(declared.filter((l) => l.startsWith(':KUBE-SVC-'))).toHaveLength(50);
    expect(declared.filter((l) => l.startsWith(':KUBE-SEP-'))).toHaveLength(150);
    expect(new Set(declared).size).toBe(declared.length);
    const dispatch = lines.filter((l) => l.startsWith('-A KUBE-SERVICES '));
    expect(dispatch).toHaveLength(51);
    // In service order, the node-port rule last: the 50th service costs 50 rules.
    expect(dispatch[49]).toContain(`-d ${serviceIP(49)}/32`);
    expect(dispatch[49]).toContain(serviceChain('bench/svc-49:http', 'tcp'));
    expect(dispatch[50]).toContain('KUBE-NODEPORTS');
    expect(script).toContain(`-A ${endpointChain('bench/svc-0:http', 'tcp', `${podAddress(0)}:8080`)} -p tcp`);
    expect(script).toContain('--probability 0.3333333333');
    expect(script).toContain('--probability 0.5000000000');
  });

  const canLoad = nftAvailable().ok && hasIptablesRestore();
  (canLoad ? test : test.skip)('iptables-restore accepts it in a fresh namespace', () => {
    const script = iptablesRestoreScript({ services: 20, endpoints: 2, endpointsOf: (i) => (i === 0 ? ['10.244.1.11'] : [podAddress(2 * i), podAddress(2 * i + 1)]) });
    withNetns((_nft, ns) => {
      execFileSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--test'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
      execFileSync('ip', ['netns', 'exec', ns, 'iptables-restore'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
      const saved = execFileSync('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
      expect(saved.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES '))).toHaveLength(21);
      expect(saved).toContain('--to-destination 10.244.1.11:8080');
    });
  });
});

describe('bookkeeping', () => {
  test('sync reports in sluice run\'s log', () => {
    expect(syncReport({ msg: 'full sync', kind: 'full', durationMs: 414 })).toEqual({ kind: 'full', durationMs: 414 });
    expect(syncReport({ msg: 'partial sync', kind: 'partial', durationMs: 7 })).toEqual({ kind: 'partial', durationMs: 7 });
    expect(syncReport({ msg: 'full sync: writing the table whole', family: 'ip', reason: 'nothing applied yet' })).toBeUndefined();
    expect(syncReport({ msg: 'serving', durationMs: 3 })).toBeUndefined();
    expect(syncReport({ msg: 'full sync still being applied by nft', elapsedMs: 5001 })).toBeUndefined();
  });

  test('a changed address is found in nft\'s text, not a longer one', () => {
    const p = addressPattern('10.250.0.1');
    expect(p.test('add element ip sluice eps/x { 0 : 10.250.0.1 . 8080 }')).toBe(true);
    expect(p.test('add rule ip sluice svc/x meta l4proto tcp dnat ip to 10.250.0.1:8080')).toBe(true);
    expect(p.test('{ 0 : 10.250.0.12 . 8080 }')).toBe(false);
    expect(p.test('{ 0 : 110.250.0.1 . 8080 }')).toBe(false);
  });

  test('median and nearest-rank percentile', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 100)).toBe(5);
  });

  test('a CPU profile\'s self and total time per function', () => {
    const url = new URL('../../lib/render.ts', import.meta.url).href;
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 4] },
        { id: 2, callFrame: { functionName: 'outer', url, lineNumber: 9, columnNumber: 0 }, children: [3] },
        { id: 3, callFrame: { functionName: 'inner', url, lineNumber: 19, columnNumber: 0 } },
        { id: 4, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1, columnNumber: -1 } },
        { id: 5, callFrame: { functionName: '(idle)', url: '', lineNumber: -1, columnNumber: -1 } },
      ],
      samples: [3, 3, 2, 4, 5],
      timeDeltas: [1000, 1000, 1000, 1000, 1000],
      startTime: 0,
      endTime: 5000,
    };
    const s = summarize(profile);
    expect(s.totalMs).toBe(4);
    expect(s.idleMs).toBe(1);
    // A window: the samples taken at 2 and 3 ms (inner, outer).
    const w = summarize(profile, 25, { fromUs: 2000, toUs: 3000 });
    expect(w.totalMs).toBe(2);
    expect(w.selfByFunction.map((r) => r.name)).toEqual(['inner lib/render.ts:20', 'outer lib/render.ts:10']);
    expect(s.selfByFunction[0]).toEqual({ name: 'inner lib/render.ts:20', ms: 2, share: 0.5 });
    expect(s.totalByFunction[0]).toEqual({ name: 'outer lib/render.ts:10', ms: 3, share: 0.75 });
    expect(s.selfByFile.find((r) => r.name === 'lib/render.ts')?.ms).toBe(3);
  });

  function results(over: Partial<Results>): Results {
    return {
      date: '2026-01-01T00:00:00Z',
      machine: { nproc: 2, memoryGiB: 24, kernel: 'k', nft: 'n', iptables: 'i', node: 'v24', cpu: 'c' },
      git: { commit: '0'.repeat(40), uncommitted: [], source: 'test' },
      options: {},
      loadAverage: { start: [0, 0, 0], end: [0, 0, 0] },
      sizes: [],
      targets: [],
      ...over,
    };
  }

  test('targets are judged on the numbers as measured', () => {
    const render = { nodeFlags: [], runsMs: [1000], bestMs: 1000, medianMs: 1000, scriptBytes: 1, scriptLines: 1, stderrLines: 0 };
    const floor = { firstLoadMs: [5000], reloadMs: [5000], firstLoadBestMs: 5000, firstLoadMedianMs: 5000, reloadBestMs: 5000, reloadMedianMs: 5000 };
    const daemon = {
      available: true as const, source: 'manifests' as const, firstFullSyncMs: 6000, nodeFlags: [], firstSyncLine: {}, changes: [], changeP50Ms: 299, changeP99Ms: 350, changeMaxMs: 400,
      changesMissed: 0, peakRssKiB: 300 * 1024, logFile: 'x', exit: 'exit 0',
    };
    const kubeProxy = { families: [{ family: 'ip' as const, lines: 1, bytes: 1, ms: 30_000 }], totalMs: 30_000, timeoutMs: 60_000 };
    const small = {
      services: 10_000, nft: { system: 'nft' }, fullSyncExisting: {},
      variants: [{ name: 'sluice-endpoint-change', what: '', lines: 1, byNft: { system: { medianMs: 100, runsMs: [100] } } }],
    };
    const checks = checkTargets(results({
      sizes: [{ services: 10_000, endpoints: 10, generateMs: 1, render, floor, kubeProxy, small, daemon, daemonApi: { ...daemon, source: 'api', firstFullSyncMs: 5500 }, errors: {}, loadAverage: { before: [0], after: [0] } }],
    }));
    const verdict = Object.fromEntries(checks.map((c) => [c.target, c.met]));
    expect(verdict).toEqual({
      '10,000×10: first full sync ≤ 1.2 × the nft floor (start-up included)': true, // the worse of 6 / 5 and 5.5 / 5 = 1.2
      "10,000×10: first full sync ≤ 0.3 × the load of kube-proxy's rule shape": true, // 6 / 30 = 0.2
      "10,000×10: one endpoint change p50 ≤ 1.5 × nft's own time for that transaction": false, // 299 / 100
      '10,000×10: peak RSS ≤ 150 MiB': false, // 300 MiB
      'render at 10,000×10 ≤ 1/10 of the nft floor': false, // 1 s / 5 s = 0.2 > 0.1
      'connections to the 10,000th service ≥ 0.9 × the first': null, // no data plane
      'connections to the 10,000th service ≥ 0.85 × direct': null,
    });
    expect(checks[2].detail).toBe('missed by 1.99× (99% over)');
    // A kube-proxy shape that did not load in time bounds the ratio from above only.
    const slow = checkTargets(results({
      sizes: [{ services: 44_000, endpoints: 1, generateMs: 1, floor, daemon: { ...daemon, firstFullSyncMs: 31_000 }, kubeProxy: { families: [{ family: 'ip', lines: 1, bytes: 1, ms: null }], totalMs: null, timeoutMs: 60_000 }, errors: {}, loadAverage: { before: [0], after: [0] } }],
    }));
    expect(slow.find((c) => c.target.includes('kube-proxy'))?.met).toBeNull();
    expect(slow.find((c) => c.target === '44,000×1: first full sync ≤ 30 s')?.met).toBe(false);
  });

  test('the results block replaces the previous one and keeps the rest of the document', () => {
    const doc = `# Benchmarks\n\nby hand\n\n${BEGIN}\nold\n${END}\n\n## Notes\nkept\n`;
    const out = spliceResults(doc, 'new\n');
    expect(out).toBe(`# Benchmarks\n\nby hand\n\n${BEGIN}\nnew\n${END}\n\n## Notes\nkept\n`);
    expect(spliceResults('# B\n', 'x\n')).toBe(`# B\n\n${BEGIN}\nx\n${END}\n`);
  });
});

describe('re-deriving a long sync from sluice\'s log', () => {
  test('the end is the kind:full line after the progress line; a restart killed mid-sync is unknown', () => {
    const log = [
      { ts: '2026-01-01T00:00:00.000Z', msg: 'objects listed, starting to sync' },
      { ts: '2026-01-01T00:00:05.000Z', msg: 'full sync still being applied by nft', elapsedMs: 5000 },
      { ts: '2026-01-01T00:00:07.500Z', msg: 'full sync', kind: 'full', durationMs: 7400 },
      { ts: '2026-01-01T00:01:00.000Z', msg: 'objects listed, starting to sync' },
      { ts: '2026-01-01T00:01:05.000Z', msg: 'full sync still being applied by nft', elapsedMs: 5000 },
    ].map((l) => JSON.stringify(l)).join('\n');
    const d: any = { available: true, firstFullSyncMs: 6000, firstFullSyncLoggedMs: 5000, restartFullSyncMs: 6100, restartFullSyncLoggedMs: 5000, peakRssAfterFirstSyncKiB: 1 };
    const notes = rederive(d, log);
    expect(d.firstFullSyncMs).toBe(8500);
    expect(d.firstFullSyncLoggedMs).toBe(7400);
    expect(d.restartFullSyncMs).toBeUndefined();
    expect(notes).toHaveLength(2);
    // A result measured to the kind:full line already is left as it is.
    const ok: any = { available: true, firstFullSyncMs: 8400, firstFullSyncLoggedMs: 7400 };
    expect(rederive(ok, log)).toEqual([]);
    expect(ok.firstFullSyncMs).toBe(8400);
  });
});
