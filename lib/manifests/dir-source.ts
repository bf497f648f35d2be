// A manifest file or folder as an object source: read once, then watched, so that adding, editing
// or removing a file changes the objects (and so the rules). What `sluice run --from` reads.
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { objectKey, OBJECT_KINDS, type KubeObject, type ObjectKind, type ObjectSink, type ObjectSource } from '../k8s/objects.ts';
import type { Logger } from '../log.ts';
import { isManifestFile, manifestFiles, readManifestFile } from './read.ts';

interface Held { obj: KubeObject; json: string }

/** Files in the order a folder is read (each folder's entries by name), so the first definition of an object wins. */
function compareFiles(a: string, b: string): number {
  const pa = a.split('/'), pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  return pa.length - pb.length;
}

export class ManifestDirSource implements ObjectSource {
  private readonly root: string;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private sink?: ObjectSink;
  private watcher?: FSWatcher;
  private readonly byFile = new Map<string, Map<string, Held>>();
  private readonly definers = new Map<string, Set<string>>();
  private readonly current = new Map<string, string>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(path: string, log: Logger, opts: { debounceMs?: number } = {}) {
    this.root = resolve(path);
    this.log = log;
    this.debounceMs = opts.debounceMs ?? 20;
  }

  async start(sink: ObjectSink): Promise<void> {
    this.sink = sink;
    for (const file of manifestFiles(this.root)) this.readFile(file);
    for (const kind of OBJECT_KINDS) sink.synced(kind);
    // Linux reports changes below a folder through inotify, which Node's recursive watch uses.
    const isFolder = statSync(this.root).isDirectory();
    this.watcher = watch(this.root, { recursive: isFolder }, (_event, name) => {
      if (!isFolder) return this.schedule(this.root);
      if (name === null) return this.rescan();
      this.schedule(join(this.root, name.toString()));
    });
    this.watcher.on('error', (e) => this.log.error('watching manifests failed', { path: this.root, error: e.message }));
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  private schedule(path: string) {
    // Editors write in steps; wait until a file has been quiet for a moment before reading it.
    clearTimeout(this.pending.get(path));
    this.pending.set(path, setTimeout(() => {
      this.pending.delete(path);
      this.changedPath(path);
    }, this.debounceMs));
  }

  private changedPath(path: string) {
    if (!existsSync(path)) {
      // A file, or a whole folder, went away: forget every file at or below it.
      for (const file of [...this.byFile.keys()]) if (file === path || file.startsWith(path + '/')) this.apply(file, new Map());
      return;
    }
    try {
      for (const file of manifestFiles(path)) this.readFile(file);
    } catch (e) {
      this.log.warn('cannot read manifests', { path, error: (e as Error).message });
    }
  }

  /** Reads every file again: for when the watcher cannot say what changed. */
  private rescan() {
    const files = new Set(manifestFiles(this.root));
    for (const file of [...this.byFile.keys()]) if (!files.has(file)) this.apply(file, new Map());
    for (const file of files) this.readFile(file);
  }

  private readFile(file: string) {
    if (!isManifestFile(file.split('/').pop() ?? '')) return;
    const r = readManifestFile(file);
    for (const n of r.notes) this.log.info(n);
    const objects = new Map<string, Held>();
    for (const obj of r.objects) {
      const id = `${obj.kind} ${objectKey(obj)}`;
      if (objects.has(id)) {
        this.log.warn(`${id} in ${relative(this.root, file) || file} skipped: defined twice in that file`);
        continue;
      }
      objects.set(id, { obj, json: JSON.stringify(obj) });
    }
    this.apply(file, objects);
  }

  /** Replaces what one file defines, and tells the sink about every object whose winning definition changed. */
  private apply(file: string, objects: Map<string, Held>) {
    const before = this.byFile.get(file) ?? new Map<string, Held>();
    if (objects.size === 0) this.byFile.delete(file); else this.byFile.set(file, objects);
    const touched = new Set([...before.keys(), ...objects.keys()]);
    for (const id of touched) {
      const files = this.definers.get(id) ?? new Set<string>();
      if (objects.has(id)) files.add(file); else files.delete(file);
      if (files.size === 0) this.definers.delete(id); else this.definers.set(id, files);
      const winner = [...files].sort(compareFiles)[0];
      const [kind] = id.split(' ', 1) as [ObjectKind];
      if (winner === undefined) {
        if (this.current.delete(id)) this.sink!.remove(kind, id.slice(kind.length + 1));
        continue;
      }
      if (files.size > 1 && objects.has(id) && winner !== file) {
        this.log.warn(`${id} in ${relative(this.root, file)} skipped: already defined in ${relative(this.root, winner)}`);
      }
      const held = this.byFile.get(winner)!.get(id)!;
      if (this.current.get(id) === held.json) continue;
      this.current.set(id, held.json);
      this.sink!.upsert(held.obj);
    }
  }
}
