// The reconciler against the kernel's own conntrack table, in a throwaway network namespace: entries
// made with `conntrack -I` (DNATed ones carry their reply tuple), listed back by the tool's XML
// output, and deleted in one batch. Checks what the kernel holds afterwards, the counts and metrics.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { recordingLogger } from '../../lib/log.ts';
import { buildModel } from '../../lib/model/build.ts';
import type { ProxyModel } from '../../lib/model/types.ts';
import { createMetrics } from '../../lib/serve/metrics.ts';
import { execConntrack } from '../../lib/sync/conntrack.ts';
import { parseFlowLine, type UdpEntry } from '../../lib/sync/conntrack-entries.ts';
import { namespacedTools, REAL_CONNTRACK } from '../run/support/kernel.ts';

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'conntrack']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}
const skip = unavailable();
if (skip) console.warn(`skipping conntrack reconciler kernel tests: ${skip}`);
const maybe = skip ? describe.skip : describe;
const skipNote = skip ? ` (skipped: ${skip})` : '';

const CLUSTER_IP = '10.96.0.53', CLUSTER_IP6 = 'fd00:96::53';
const PA = '10.244.1.11', PB = '10.244.2.11', PA6 = 'fd00:244:1::11', PB6 = 'fd00:244:2::11';

function model(v4: { ip: string; serving?: boolean; terminating?: boolean }[], v6: string[] = []): ProxyModel {
  const svc = (name: string, clusterIP: string, families: string[]): KubeObject => ({
    kind: 'Service', metadata: { name, namespace: 'lab' },
    spec: { clusterIP, ipFamilies: families, ports: [{ port: 53, targetPort: 9376, protocol: 'UDP' }] },
  });
  const slice = (name: string, addressType: string, eps: { ip: string; ready: boolean; serving: boolean; terminating: boolean }[]): KubeObject => ({
    kind: 'EndpointSlice', metadata: { name: `${name}-1`, namespace: 'lab', labels: { 'kubernetes.io/service-name': name } },
    addressType, ports: [{ port: 9376, protocol: 'UDP' }],
    endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: 'node2', conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating } })),
  });
  const v4eps = v4.map((e) => ({ ip: e.ip, ready: !e.terminating, serving: e.serving ?? true, terminating: e.terminating ?? false }));
  const v6eps = v6.map((ip) => ({ ip, ready: true, serving: true, terminating: false }));
  return buildModel({
    services: [svc('dns', CLUSTER_IP, ['IPv4']), svc('dns6', CLUSTER_IP6, ['IPv6'])],
    endpointSlices: [slice('dns', 'IPv4', v4eps), slice('dns6', 'IPv6', v6eps)],
    endpoints: [], nodes: [],
  }, 'node1');
}

maybe(`UDP conntrack reconciliation in the kernel${skipNote}`, () => {
  const ns = `slct-${randomBytes(4).toString('hex')}`;
  let dir: string;
  let conntrack: string;
  const timings: Record<string, number> = {};
  const inNs = (args: string[], input?: string) => execFileSync('ip', ['netns', 'exec', ns, REAL_CONNTRACK, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  const flush = () => { for (const f of ['ipv4', 'ipv6']) inNs(['-F', '-f', f]); };
  /** Makes entries from `client` source ports, sent to dst:53 and answered by `reply` (dst itself: not DNATed). */
  const make = (n: number, dst: string, reply: string, firstPort: number) => {
    const client = dst.includes(':') ? 'fd00::2' : '10.0.0.2';
    const replyPort = reply === dst ? 53 : 9376;
    const lines = Array.from({ length: n }, (_, i) => `-I -p udp -s ${client} -d ${dst} --sport ${firstPort + i} --dport 53 -r ${reply} -q ${client} --reply-port-src ${replyPort} --reply-port-dst ${firstPort + i} -t 600`);
    const file = join(dir, 'make');
    writeFileSync(file, lines.join('\n') + '\n');
    inNs(['-R', file]);
  };
  const entries = (): UdpEntry[] => ['ipv4', 'ipv6'].flatMap((f) => inNs(['-L', '-f', f, '-p', 'udp', '-o', 'xml']).split('\n').map(parseFlowLine).filter((e): e is UdpEntry => e !== undefined));
  const repliesFrom = (es: UdpEntry[]) => {
    const counts: Record<string, number> = {};
    for (const e of es) counts[e.replySrc] = (counts[e.replySrc] ?? 0) + 1;
    return counts;
  };

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    dir = mkdtempSync(join(tmpdir(), 'sluice-ct-'));
    conntrack = namespacedTools(dir, ns).conntrack;
  });

  afterAll(() => {
    execFileSync('ip', ['netns', 'delete', ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`conntrack reconciler timings (ms): ${JSON.stringify(timings)}`);
  });

  test('stale entries of both families are deleted, the others kept; counted and in the metrics', async () => {
    flush();
    make(3, CLUSTER_IP, PA, 41000);          // serving endpoint: kept
    make(4, CLUSTER_IP, PB, 42000);          // terminating, still serving: kept
    make(5, CLUSTER_IP, '10.244.2.99', 43000); // removed endpoint: deleted
    make(2, CLUSTER_IP, CLUSTER_IP, 44000);  // never DNATed, service has endpoints: deleted
    make(2, CLUSTER_IP6, PA6, 45000);        // kept
    make(3, CLUSTER_IP6, PB6, 46000);        // removed: deleted
    make(1, '10.96.0.99', '10.96.0.99', 47000); // not a service: not sluice's business
    expect(repliesFrom(entries())).toEqual({ [PA]: 3, [PB]: 4, '10.244.2.99': 5, [CLUSTER_IP]: 2, [PA6]: 2, [PB6]: 3, '10.96.0.99': 1 });

    const metrics = createMetrics({ families: ['IPv4', 'IPv6'], processMetrics: false });
    const log = recordingLogger();
    const ct = execConntrack(log, conntrack, metrics);
    const result = await ct.reconcile(model([{ ip: PA }, { ip: PB, terminating: true }], [PA6]));

    expect(result.deleted).toEqual({ IPv4: 7, IPv6: 3 });
    expect(repliesFrom(entries())).toEqual({ [PA]: 3, [PB]: 4, [PA6]: 2, '10.96.0.99': 1 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="IPv4"} 7');
    expect(text).toContain('kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="IPv6"} 3');
    expect(text).toContain('kubeproxy_conntrack_reconciler_sync_duration_seconds_count{ip_family="IPv4"} 1');
    expect(text).toContain('kubeproxy_conntrack_reconciler_sync_duration_seconds_count{ip_family="IPv6"} 1');

    // A second pass finds nothing left to delete.
    expect((await ct.reconcile(model([{ ip: PA }, { ip: PB, terminating: true }], [PA6]))).deleted).toEqual({ IPv4: 0, IPv6: 0 });
    // And once PB stops serving, its flows go too.
    expect((await ct.reconcile(model([{ ip: PA }, { ip: PB, terminating: true, serving: false }], [PA6]))).deleted).toEqual({ IPv4: 4, IPv6: 0 });
    expect(repliesFrom(entries())).toEqual({ [PA]: 3, [PA6]: 2, '10.96.0.99': 1 });
  });

  test('1,000 stale entries among 10,000 are deleted in one batch, in well under a second', async () => {
    flush();
    make(9000, CLUSTER_IP, PA, 20000);
    make(1000, CLUSTER_IP, PB, 30000);
    const ct = execConntrack(recordingLogger(), conntrack);
    const started = performance.now();
    const result = await ct.reconcile(model([{ ip: PA }]));
    timings.reconcile1000StaleOf10000 = Math.round(performance.now() - started);
    expect(result.deleted).toEqual({ IPv4: 1000, IPv6: 0 });
    expect(repliesFrom(entries())).toEqual({ [PA]: 9000 });
    // One process per entry takes about 30 s here (each -D dumps the whole table): see lib/sync/conntrack.ts.
    expect(timings.reconcile1000StaleOf10000).toBeLessThan(2000);
  });

  test('a conntrack that cannot run is logged, and the sync goes on', async () => {
    const log = recordingLogger();
    const ct = execConntrack(log, join(dir, 'no-such-conntrack'));
    await expect(ct.reconcile(model([{ ip: PA }]))).resolves.toEqual({ deleted: { IPv4: 0, IPv6: 0 } });
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['conntrack could not list UDP entries; reconciling those it listed']);
  });
});
