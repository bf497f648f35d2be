// The manifest watcher behind `sluice run --from`: files and folders changed the ways people and
// tools change them (in place, by renaming a new file over the old one, by moving folders), each
// change seen, however many times the same file is replaced.
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger } from '../../lib/log.ts';
import { ManifestDirSource } from '../../lib/manifests/dir-source.ts';
import { ObjectStore } from '../../lib/objects/store.ts';
import { eventually } from '../support/eventually.ts';

const service = (name: string, clusterIP: string) =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: lab }\nspec: { clusterIP: ${clusterIP}, ports: [{ port: 80 }] }\n`;

let root: string | undefined;
let source: ManifestDirSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

async function watching(path: string): Promise<ObjectStore> {
  const store = new ObjectStore();
  source = new ManifestDirSource(path, recordingLogger());
  await source.start(store);
  return store;
}

function workspace(): string {
  root = mkdtempSync(join(tmpdir(), 'sluice-dir-source-'));
  return root;
}

/** Writes a new file next to `file` and renames it over `file`, as editors and `kubectl`-like tools do. */
function replace(file: string, text: string) {
  writeFileSync(`${file}.new~`, text);
  renameSync(`${file}.new~`, file);
}

const clusterIP = (store: ObjectStore, name: string) => store.get('Service', `lab/${name}`)?.spec.clusterIP;
const services = (store: ObjectStore) => [...store.objects().services].map((s) => s.metadata.name).sort();

describe('ManifestDirSource', () => {
  test('a folder: one file replaced by rename again and again, then written in place', async () => {
    const dir = workspace();
    writeFileSync(join(dir, 'web.yaml'), service('web', '10.96.0.1'));
    const store = await watching(dir);
    expect(clusterIP(store, 'web')).toBe('10.96.0.1');
    for (const ip of ['10.96.0.2', '10.96.0.3', '10.96.0.4']) {
      replace(join(dir, 'web.yaml'), service('web', ip));
      await eventually(() => expect(clusterIP(store, 'web')).toBe(ip), { timeoutMs: 2000 });
    }
    writeFileSync(join(dir, 'web.yaml'), service('web', '10.96.0.5'));
    await eventually(() => expect(clusterIP(store, 'web')).toBe('10.96.0.5'), { timeoutMs: 2000 });
  });

  test('a single file given as --from: replaced by rename again and again', async () => {
    const dir = workspace();
    const file = join(dir, 'web.yaml');
    writeFileSync(file, service('web', '10.96.0.1'));
    writeFileSync(join(dir, 'other.yaml'), service('other', '10.96.0.9'));
    const store = await watching(file);
    for (const ip of ['10.96.0.2', '10.96.0.3', '10.96.0.4']) {
      replace(file, service('web', ip));
      await eventually(() => expect(clusterIP(store, 'web')).toBe(ip), { timeoutMs: 2000 });
    }
    writeFileSync(file, service('web', '10.96.0.5'));
    await eventually(() => expect(clusterIP(store, 'web')).toBe('10.96.0.5'), { timeoutMs: 2000 });
    // Only that file: its neighbours are not read.
    expect(services(store)).toEqual(['web']);
    rmSync(file);
    await eventually(() => expect(services(store)).toEqual([]), { timeoutMs: 2000 });
    writeFileSync(file, service('web', '10.96.0.6'));
    await eventually(() => expect(clusterIP(store, 'web')).toBe('10.96.0.6'), { timeoutMs: 2000 });
  });

  test('files added and removed; a folder moved in, changed, and moved out', async () => {
    const dir = workspace();
    mkdirSync(join(dir, 'live'));
    writeFileSync(join(dir, 'live', 'a.yaml'), service('a', '10.96.0.1'));
    const store = await watching(join(dir, 'live'));
    writeFileSync(join(dir, 'live', 'b.yaml'), service('b', '10.96.0.2'));
    await eventually(() => expect(services(store)).toEqual(['a', 'b']), { timeoutMs: 2000 });
    rmSync(join(dir, 'live', 'a.yaml'));
    await eventually(() => expect(services(store)).toEqual(['b']), { timeoutMs: 2000 });

    mkdirSync(join(dir, 'team'));
    writeFileSync(join(dir, 'team', 'c.yaml'), service('c', '10.96.0.3'));
    renameSync(join(dir, 'team'), join(dir, 'live', 'team'));
    await eventually(() => expect(services(store)).toEqual(['b', 'c']), { timeoutMs: 2000 });
    // Files in the moved-in folder are watched like the others.
    replace(join(dir, 'live', 'team', 'c.yaml'), service('c', '10.96.0.33'));
    await eventually(() => expect(clusterIP(store, 'c')).toBe('10.96.0.33'), { timeoutMs: 2000 });
    replace(join(dir, 'live', 'team', 'c.yaml'), service('c', '10.96.0.34'));
    await eventually(() => expect(clusterIP(store, 'c')).toBe('10.96.0.34'), { timeoutMs: 2000 });
    writeFileSync(join(dir, 'live', 'team', 'd.yaml'), service('d', '10.96.0.4'));
    await eventually(() => expect(services(store)).toEqual(['b', 'c', 'd']), { timeoutMs: 2000 });

    renameSync(join(dir, 'live', 'team'), join(dir, 'gone'));
    await eventually(() => expect(services(store)).toEqual(['b']), { timeoutMs: 2000 });
    // Changes to the folder after it left are not followed.
    writeFileSync(join(dir, 'gone', 'e.yaml'), service('e', '10.96.0.5'));
    writeFileSync(join(dir, 'live', 'f.yaml'), service('f', '10.96.0.6'));
    await eventually(() => expect(services(store)).toEqual(['b', 'f']), { timeoutMs: 2000 });
  });

  test('hidden files and folders are not read, as when the folder is first read', async () => {
    const dir = workspace();
    writeFileSync(join(dir, 'a.yaml'), service('a', '10.96.0.1'));
    const store = await watching(dir);
    writeFileSync(join(dir, '.draft.yaml'), service('draft', '10.96.0.2'));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'x.yaml'), service('x', '10.96.0.3'));
    writeFileSync(join(dir, 'b.yaml'), service('b', '10.96.0.4'));
    await eventually(() => expect(services(store)).toEqual(['a', 'b']), { timeoutMs: 2000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(services(store)).toEqual(['a', 'b']);
  });

  test('a ConfigMap volume: links into a hidden ..data folder, updated by swapping the ..data link', async () => {
    const dir = workspace();
    const version = (n: number, ip: string) => {
      mkdirSync(join(dir, `..v${n}`));
      writeFileSync(join(dir, `..v${n}`, 'web.yaml'), service('web', ip));
    };
    version(1, '10.96.0.1');
    symlinkSync(`..v1`, join(dir, '..data'));
    symlinkSync(join('..data', 'web.yaml'), join(dir, 'web.yaml'));
    const store = await watching(dir);
    expect(clusterIP(store, 'web')).toBe('10.96.0.1');
    // The kubelet's atomic writer: a new hidden folder, a new link, renamed over ..data.
    version(2, '10.96.0.2');
    symlinkSync(`..v2`, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await eventually(() => expect(clusterIP(store, 'web')).toBe('10.96.0.2'), { timeoutMs: 2000 });
  });

  test('a file that stops parsing keeps its objects until it parses again', async () => {
    const dir = workspace();
    writeFileSync(join(dir, 'web.yaml'), service('web', '10.96.0.1'));
    writeFileSync(join(dir, 'api.yaml'), service('api', '10.96.0.9'));
    const store = await watching(dir);
    replace(join(dir, 'web.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: { name: web\n');
    replace(join(dir, 'api.yaml'), service('api', '10.96.0.8'));
    await eventually(() => expect(clusterIP(store, 'api')).toBe('10.96.0.8'), { timeoutMs: 2000 });
    expect(clusterIP(store, 'web')).toBe('10.96.0.1');
    replace(join(dir, 'web.yaml'), service('web', '10.96.0.2'));
    await eventually(() => expect(clusterIP(store, 'web')).toBe('10.96.0.2'), { timeoutMs: 2000 });
  });
});
