// A manifest file or folder as an object source: read once, then watched, so that adding, editing
// or removing a file changes the objects (and so the rules). What `sluice run --from` reads.
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { objectKey, OBJECT_KINDS, type KubeObject, type ObjectKind, type ObjectSink, type ObjectSource } from '../objects/objects.ts';
import { sameValue } from '../objects/same.ts';
import type { Logger } from '../log.ts';
import { isManifestFile, manifestFiles, readManifestFile } from './read.ts';

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
  /** One watch per folder, not fs.watch's recursive mode: on Linux that stops reporting a file once
   * it has been replaced by a rename (what editors and most tools do), even its later in-place writes. */
  private readonly watchers = new Map<string, FSWatcher>();
  /** What each file defines, by object id (kind and key): the objects as read, shared with the sink. */
  private readonly byFile = new Map<string, Map<string, KubeObject>>();
  /** The file defining each object id, or the files when there are several (rare: a warning each);
   * at 44,000 services a Set or an array per object was 8 MiB of the heap. */
  private readonly definers = new Map<string, string | string[]>();
  /** The object the sink has for each id. */
  private readonly current = new Map<string, KubeObject>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private isFolder = true;
  private stopped = false;

  constructor(path: string, log: Logger, opts: { debounceMs?: number } = {}) {
    this.root = resolve(path);
    this.log = log;
    this.debounceMs = opts.debounceMs ?? 20;
  }

  async start(sink: ObjectSink): Promise<void> {
    this.sink = sink;
    this.isFolder = statSync(this.root).isDirectory();
    // Watching starts before the first read, so nothing changed during the read goes unseen.
    if (this.isFolder) {
      this.watchTree(this.root);
    } else {
      // A file is watched through its folder: a watch on the file itself would follow the old inode
      // once the file is replaced by a rename, and see nothing more.
      this.watchFolder(dirname(this.root), (name) => { if (name === null || name === basename(this.root)) this.schedule(this.root); });
    }
    for (const file of manifestFiles(this.root)) this.readFile(file);
    for (const kind of OBJECT_KINDS) sink.synced(kind);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  /** Watches a folder and, below it, every folder manifestFiles would read (not hidden ones). */
  private watchTree(dir: string) {
    this.watchFolder(dir, (name) => {
      if (name === null) return this.rescan();
      this.schedule(join(dir, name));
    });
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // gone already: its parent's watch reports that
    }
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) this.watchTree(join(dir, e.name));
  }

  private watchFolder(dir: string, onName: (name: string | null) => void) {
    if (this.stopped || this.watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = watch(dir, (_event, name) => onName(name === null ? null : name.toString()));
    } catch (e) {
      this.log.warn('cannot watch manifests folder', { path: dir, error: (e as Error).message });
      return;
    }
    // A watched folder that is deleted or moved away ends its watch; its parent's watch reports the change.
    w.on('error', () => this.unwatch(dir));
    this.watchers.set(dir, w);
  }

  /** Stops watching a folder and every folder below it. */
  private unwatch(path: string) {
    for (const [dir, w] of this.watchers) {
      if (dir === path || dir.startsWith(path + sep)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
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
    if (this.stopped) return;
    // What the first read skips (hidden files and folders, editors' temporary files) is skipped here too,
    // but for Kubernetes' atomic writer, which updates a mounted ConfigMap by swapping a hidden `..data`
    // link that the visible files point through: then the folder holding it is read again.
    const parts = relative(this.root, path).split(sep);
    if (parts.some((part) => part.startsWith('.'))) {
      if (parts[parts.length - 1].startsWith('..') && !parts.slice(0, -1).some((p) => p.startsWith('.'))) this.changedPath(dirname(path));
      return;
    }
    if (!existsSync(path)) {
      // A file, or a whole folder, went away: forget every file at or below it.
      this.unwatch(path);
      this.forgetBelow(path, new Set());
      return;
    }
    try {
      if (this.isFolder && statSync(path).isDirectory()) {
        // Watched anew: a watch follows its folder, which may have been moved away and replaced.
        this.unwatch(path);
        this.watchTree(path);
      }
      const files = manifestFiles(path);
      // A folder that was moved away and another put in its place: forget the files it no longer has.
      this.forgetBelow(path, new Set(files));
      for (const file of files) this.readFile(file);
    } catch (e) {
      this.log.warn('cannot read manifests', { path, error: (e as Error).message });
    }
  }

  /** Forgets the files read at or below path, except those in keep. */
  private forgetBelow(path: string, keep: Set<string>) {
    for (const file of [...this.byFile.keys()]) {
      if ((file === path || file.startsWith(path + sep)) && !keep.has(file)) this.apply(file, new Map());
    }
  }

  /** Reads every file again: for when the watcher cannot say what changed. */
  private rescan() {
    this.changedPath(this.root);
  }

  private readFile(file: string) {
    if (!isManifestFile(file.split('/').pop() ?? '')) return;
    const r = readManifestFile(file);
    if (r.unreadable && this.byFile.has(file)) {
      // Most often a file caught half written, or a typo: its services keep their rules until it reads again.
      for (const n of r.notes) this.log.warn(`${n}; keeping the objects it defined before`);
      return;
    }
    for (const n of r.notes) this.log.info(n);
    const before = this.byFile.get(file);
    const objects = new Map<string, KubeObject>();
    for (const obj of r.objects) {
      const id = `${obj.kind} ${objectKey(obj)}`;
      if (objects.has(id)) {
        this.log.warn(`${id} in ${relative(this.root, file) || file} skipped: defined twice in that file`);
        continue;
      }
      // An object the file defined before and still defines the same way: the one held stays and the
      // new copy is garbage at once, so it costs no memory, and nothing downstream (the model keeps
      // its reading of each object by identity) sees a change.
      const held = before?.get(id);
      objects.set(id, held !== undefined && sameValue(held, obj) ? held : obj);
    }
    this.apply(file, objects);
  }

  /** Replaces what one file defines, and tells the sink about every object whose winning definition changed. */
  private apply(file: string, objects: Map<string, KubeObject>) {
    const before = this.byFile.get(file) ?? new Map<string, KubeObject>();
    if (objects.size === 0) this.byFile.delete(file); else this.byFile.set(file, objects);
    const touched = new Set([...before.keys(), ...objects.keys()]);
    for (const id of touched) {
      const known = this.definers.get(id) ?? [];
      const list = typeof known === 'string' ? [known] : known;
      const files = objects.has(id) ? (list.includes(file) ? list : list.concat(file)) : list.filter((f) => f !== file);
      if (files.length === 0) this.definers.delete(id); else this.definers.set(id, files.length === 1 ? files[0] : files);
      const winner = files.length === 1 ? files[0] : [...files].sort(compareFiles)[0];
      const [kind] = id.split(' ', 1) as [ObjectKind];
      if (winner === undefined) {
        if (this.current.delete(id)) this.sink!.remove(kind, id.slice(kind.length + 1));
        continue;
      }
      if (files.length > 1 && objects.has(id) && winner !== file) {
        this.log.warn(`${id} in ${relative(this.root, file)} skipped: already defined in ${relative(this.root, winner)}`);
      }
      const obj = this.byFile.get(winner)!.get(id)!;
      const sent = this.current.get(id);
      // The same definition (the same object, or another file's equal one): the sink has it already.
      if (sent !== undefined && (sent === obj || sameValue(sent, obj))) continue;
      this.current.set(id, obj);
      this.sink!.upsert(obj);
    }
  }
}
