// conntrack settings as kube-proxy applies them, on fake files; and for real in a fresh network
// namespace (root), reading the per-namespace sysctls back and checking the host's did not move.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from '@jest/globals';
import { DEFAULT_CONNTRACK, type ConntrackConfig } from '../../lib/config/conntrack.ts';
import { recordingLogger } from '../../lib/log.ts';
import { startNodeSettings } from '../../lib/node-settings/apply.ts';
import { applyConntrackSettings, conntrackMax, NodeSettingsError } from '../../lib/node-settings/conntrack.ts';
import type { NodeFiles } from '../../lib/node-settings/files.ts';
import { nodeBinary } from '../../lab/scripts.ts';

const P = '/proc/sys/net/netfilter/';
const HASH = '/sys/module/nf_conntrack/parameters/hashsize';

function fakeFiles(values: Record<string, string>, o: { cpus?: number; readOnly?: string[]; sysfsRw?: boolean; failWrite?: string } = {}) {
  const writes: [string, string][] = [];
  const files: NodeFiles = {
    read: (p) => values[p],
    write: (p, v) => {
      if (p === o.failWrite) throw new Error('EROFS: read-only file system');
      writes.push([p, v]);
      values[p] = v;
    },
    readOnly: (p) => (o.readOnly ?? []).includes(p),
    sysfsWritable: () => o.sysfsRw ?? true,
    cpus: () => o.cpus ?? 4,
  };
  return { files, writes, values };
}

const kernelDefaults = () => ({
  [P + 'nf_conntrack_max']: '65536', [HASH]: '16384',
  [P + 'nf_conntrack_tcp_timeout_established']: '432000', [P + 'nf_conntrack_tcp_timeout_close_wait']: '60',
  [P + 'nf_conntrack_tcp_be_liberal']: '0', [P + 'nf_conntrack_udp_timeout']: '30', [P + 'nf_conntrack_udp_timeout_stream']: '120',
});

describe('on fake files', () => {
  test('max = max(maxPerCore × CPUs, min); 0 leaves it alone', () => {
    expect(conntrackMax({ ...DEFAULT_CONNTRACK, maxPerCore: 32768, min: 131072 }, 2)).toBe(131072);
    expect(conntrackMax({ ...DEFAULT_CONNTRACK, maxPerCore: 32768, min: 131072 }, 8)).toBe(262144);
    expect(conntrackMax({ ...DEFAULT_CONNTRACK, maxPerCore: 0, min: 131072 }, 8)).toBe(0);
  });

  test('kube-proxy\'s defaults on a 4-CPU node: max, hash size max/4, the two TCP timeouts; one log line each', () => {
    const { files, writes } = fakeFiles(kernelDefaults());
    const log = recordingLogger();
    const out = applyConntrackSettings(DEFAULT_CONNTRACK, files, log);
    expect(writes).toEqual([
      [P + 'nf_conntrack_max', '131072'], [HASH, '32768'],
      [P + 'nf_conntrack_tcp_timeout_established', '86400'], [P + 'nf_conntrack_tcp_timeout_close_wait', '3600'],
    ]);
    expect(log.lines.filter((l) => l.msg === 'set node setting')).toHaveLength(4);
    expect(out.missing).toEqual([]);
  });

  test('values already right are not written, and a second run writes nothing', () => {
    const { files, writes } = fakeFiles(kernelDefaults());
    applyConntrackSettings(DEFAULT_CONNTRACK, files, recordingLogger());
    writes.length = 0;
    const log = recordingLogger();
    applyConntrackSettings(DEFAULT_CONNTRACK, files, log);
    expect(writes).toEqual([]);
    expect(log.lines).toEqual([]);
  });

  test('the hash table is never shrunk; lower timeouts are written (the value differs)', () => {
    const { files, writes } = fakeFiles({ ...kernelDefaults(), [HASH]: '1000000' });
    applyConntrackSettings({ ...DEFAULT_CONNTRACK, tcpEstablishedTimeout: 600 }, files, recordingLogger());
    expect(writes.map(([p]) => p)).not.toContain(HASH);
    expect(writes).toContainEqual([P + 'nf_conntrack_tcp_timeout_established', '600']);
  });

  test('tcpBeLiberal false and UDP timeouts 0 leave the kernel alone; set, they are written', () => {
    const c: ConntrackConfig = { ...DEFAULT_CONNTRACK, maxPerCore: 0, tcpEstablishedTimeout: 0, tcpCloseWaitTimeout: 0 };
    const { files, writes } = fakeFiles({ ...kernelDefaults(), [P + 'nf_conntrack_tcp_be_liberal']: '1' });
    applyConntrackSettings(c, files, recordingLogger());
    expect(writes).toEqual([]);
    applyConntrackSettings({ ...c, tcpBeLiberal: true, udpTimeout: 31, udpStreamTimeout: 121 }, files, recordingLogger());
    expect(writes).toEqual([[P + 'nf_conntrack_udp_timeout', '31'], [P + 'nf_conntrack_udp_timeout_stream', '121']]);
  });

  test('outside the host\'s network namespace nf_conntrack_max is read-only: warned about, not written, hash size untouched', () => {
    const { files, writes } = fakeFiles(kernelDefaults(), { readOnly: [P + 'nf_conntrack_max'] });
    const log = recordingLogger();
    applyConntrackSettings(DEFAULT_CONNTRACK, files, log);
    expect(writes.map(([p]) => p)).toEqual([P + 'nf_conntrack_tcp_timeout_established', P + 'nf_conntrack_tcp_timeout_close_wait']);
    expect(log.lines.find((l) => l.level === 'warn')?.msg).toContain('nf_conntrack_max is global and read-only');
  });

  test('a read-only /sys: the hash size is warned about (kube-proxy\'s event), the rest applied', () => {
    const { files, writes } = fakeFiles(kernelDefaults(), { sysfsRw: false });
    const log = recordingLogger();
    applyConntrackSettings(DEFAULT_CONNTRACK, files, log);
    expect(writes.map(([p]) => p)).not.toContain(HASH);
    expect(log.lines.some((l) => l.level === 'warn' && l.msg.includes('/sys is read-only'))).toBe(true);
  });

  test('a setting that cannot be written is an error naming it', () => {
    const { files } = fakeFiles(kernelDefaults(), { failWrite: P + 'nf_conntrack_tcp_timeout_close_wait' });
    expect(() => applyConntrackSettings(DEFAULT_CONNTRACK, files, recordingLogger())).toThrow(NodeSettingsError);
    expect(() => applyConntrackSettings(DEFAULT_CONNTRACK, files, recordingLogger())).toThrow(/nf_conntrack_tcp_timeout_close_wait to 3600/);
  });

  test('nf_conntrack not loaded: nothing to write at start, applied after the first sync', () => {
    const values: Record<string, string> = {};
    const { files, writes } = fakeFiles(values);
    const settings = startNodeSettings(DEFAULT_CONNTRACK, files, recordingLogger());
    expect(writes).toEqual([]);
    Object.assign(values, kernelDefaults()); // the first ruleset loads nf_conntrack
    settings.synced();
    expect(writes).toHaveLength(4);
    settings.synced();
    expect(writes).toHaveLength(4);
  });
});

// In a fresh network namespace: per-namespace sysctls are that namespace's own, so the test changes
// nothing of the host's; nf_conntrack_max and the hash size are global and must stay as they are.
const CHILD = fileURLToPath(new URL('./apply-in-netns.ts', import.meta.url));
const NS = `sluice-ns-settings-${process.pid}`;
const root = process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0;
const conntrackLoaded = (() => { try { readFileSync(P + 'nf_conntrack_max'); return true; } catch { return false; } })();
const skip = !root ? 'needs root and ip' : !conntrackLoaded ? 'nf_conntrack is not loaded on this host' : undefined;
if (skip) console.warn(`skipped: conntrack settings in a network namespace: ${skip}`);

describe('in a fresh network namespace', () => {
  afterAll(() => { if (!skip) spawnSync('ip', ['netns', 'del', NS]); });
  (skip ? test.skip : test)('per-namespace sysctls are set and read back; the host\'s values do not move', () => {
    const read = (p: string) => readFileSync(p, 'utf8').trim();
    const hostBefore = [P + 'nf_conntrack_max', HASH, P + 'nf_conntrack_tcp_timeout_established', P + 'nf_conntrack_udp_timeout'].map(read);
    execFileSync('ip', ['netns', 'add', NS]);
    const wanted = { tcpEstablishedTimeout: 12345, tcpCloseWaitTimeout: 1234, tcpBeLiberal: true, udpTimeout: 31, udpStreamTimeout: 121 };
    const out = JSON.parse(execFileSync('ip', ['netns', 'exec', NS, nodeBinary(), CHILD, JSON.stringify(wanted)], { encoding: 'utf8' }));
    const inNs = (name: string) => execFileSync('ip', ['netns', 'exec', NS, 'cat', P + name], { encoding: 'utf8' }).trim();
    expect({
      established: inNs('nf_conntrack_tcp_timeout_established'), closeWait: inNs('nf_conntrack_tcp_timeout_close_wait'),
      liberal: inNs('nf_conntrack_tcp_be_liberal'), udp: inNs('nf_conntrack_udp_timeout'), stream: inNs('nf_conntrack_udp_timeout_stream'),
    }).toEqual({ established: '12345', closeWait: '1234', liberal: '1', udp: '31', stream: '121' });
    expect(out.changed.map((c: { path: string }) => c.path.replace(P, '')).sort()).toEqual([
      'nf_conntrack_tcp_be_liberal', 'nf_conntrack_tcp_timeout_close_wait', 'nf_conntrack_tcp_timeout_established',
      'nf_conntrack_udp_timeout', 'nf_conntrack_udp_timeout_stream',
    ]);
    // nf_conntrack_max is global (read-only in the namespace on this kernel): left alone, and so the hash size.
    if (!out.maxReadOnly) console.warn('nf_conntrack_max is writable in a network namespace on this kernel: its handling was not exercised');
    expect(out.changed.some((c: { path: string }) => c.path.endsWith('nf_conntrack_max') || c.path === HASH)).toBe(false);
    expect([P + 'nf_conntrack_max', HASH, P + 'nf_conntrack_tcp_timeout_established', P + 'nf_conntrack_udp_timeout'].map(read)).toEqual(hostBefore);
  });
});
