// A manifests file that changes is read again alone, and what it still defines unchanged costs
// nothing downstream: the sink hears only of the objects that changed, and keeps the very objects it
// had for the others (the model keeps its readings by object, so they are not read again).
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger } from '../../lib/log.ts';
import { ManifestDirSource } from '../../lib/manifests/dir-source.ts';
import { RecordingSink } from '../support/recording-sink.ts';
import { eventually } from '../support/eventually.ts';

const service = (name: string, clusterIP: string) => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'lab' }, spec: { clusterIP, ports: [{ port: 80 }] },
});
const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
/** Each read of a file with it is logged once: how the tests count reads. */
const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'marker', namespace: 'lab' } };

let root: string | undefined;
let source: ManifestDirSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function replace(file: string, text: string) {
  writeFileSync(`${file}.new~`, text);
  renameSync(`${file}.new~`, file);
}

async function start(dir: string) {
  const sink = new RecordingSink();
  const log = recordingLogger();
  source = new ManifestDirSource(dir, log, { debounceMs: 5 });
  await source.start(sink);
  return { sink, log, upserts: () => sink.calls.filter((c) => c.op === 'upsert').map((c) => c.key) };
}

const readsOf = (log: ReturnType<typeof recordingLogger>, file: string) =>
  log.lines.filter((l) => l.msg.startsWith(file) && l.msg.includes('ConfigMap')).length;

describe('a changed manifests file', () => {
  test('is read again alone; only the object that changed reaches the sink, the others stay the same objects', async () => {
    root = mkdtempSync(join(tmpdir(), 'sluice-changed-file-'));
    const a = join(root, 'a.json'), b = join(root, 'b.json');
    writeFileSync(a, list([service('a1', '10.96.0.1'), service('a2', '10.96.0.2'), service('a3', '10.96.0.3'), configMap]));
    writeFileSync(b, list([service('b1', '10.96.1.1'), configMap]));
    const { sink, log, upserts } = await start(root);
    const before = { a1: sink.get('Service', 'lab/a1'), a3: sink.get('Service', 'lab/a3'), b1: sink.get('Service', 'lab/b1') };
    const upsertsAtStart = upserts().length;

    replace(a, list([service('a1', '10.96.0.1'), service('a2', '10.96.0.22'), service('a3', '10.96.0.3'), configMap]));
    await eventually(() => expect(sink.get('Service', 'lab/a2')?.spec.clusterIP).toBe('10.96.0.22'), { timeoutMs: 2000 });
    expect(upserts().slice(upsertsAtStart)).toEqual(['lab/a2']);
    expect(sink.get('Service', 'lab/a1')).toBe(before.a1);
    expect(sink.get('Service', 'lab/a3')).toBe(before.a3);
    expect(sink.get('Service', 'lab/b1')).toBe(before.b1);
    expect(readsOf(log, a)).toBe(2);
    expect(readsOf(log, b)).toBe(1);
  });

  test('written again unchanged, keys in another order: nothing reaches the sink', async () => {
    root = mkdtempSync(join(tmpdir(), 'sluice-changed-file-'));
    const a = join(root, 'a.json');
    writeFileSync(a, list([service('a1', '10.96.0.1'), configMap]));
    const { log, upserts } = await start(root);
    const upsertsAtStart = upserts().length;
    const reordered = { spec: { ports: [{ port: 80 }], clusterIP: '10.96.0.1' }, metadata: { namespace: 'lab', name: 'a1' }, kind: 'Service', apiVersion: 'v1' };
    replace(a, list([reordered, configMap]));
    await eventually(() => expect(readsOf(log, a)).toBe(2), { timeoutMs: 2000 });
    expect(upserts().length).toBe(upsertsAtStart);
  });

  test('an object defined in two files: the first file wins; its definition gone, the other one is sent only if it differs', async () => {
    root = mkdtempSync(join(tmpdir(), 'sluice-changed-file-'));
    const a = join(root, 'a.json'), b = join(root, 'b.json'), c = join(root, 'c.json');
    writeFileSync(a, list([service('x', '10.96.0.1'), service('y', '10.96.0.5')]));
    writeFileSync(b, list([service('x', '10.96.0.2'), service('y', '10.96.0.5')]));
    writeFileSync(c, list([service('z', '10.96.0.9')]));
    const { sink, log, upserts } = await start(root);
    expect(sink.get('Service', 'lab/x')?.spec.clusterIP).toBe('10.96.0.1');
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'Service lab/x in b.json skipped: already defined in a.json', 'Service lab/y in b.json skipped: already defined in a.json',
    ]);
    const upsertsAtStart = upserts().length;
    rmSync(a);
    await eventually(() => expect(sink.get('Service', 'lab/x')?.spec.clusterIP).toBe('10.96.0.2'), { timeoutMs: 2000 });
    expect(upserts().slice(upsertsAtStart)).toEqual(['lab/x']);
    expect(sink.calls.some((call) => call.op === 'remove')).toBe(false);
    rmSync(b);
    await eventually(() => expect(sink.keys('Service')).toEqual(['lab/z']), { timeoutMs: 2000 });
  });
});
