// A manifest file or folder, read once into a store: what `sluice render` works from.
import { objectKey, OBJECT_KINDS, type KubeObject } from '../objects/objects.ts';
import { manifestFiles, readManifestFile } from './read.ts';
import { ObjectStore } from '../objects/store.ts';

export interface LoadResult {
  store: ObjectStore;
  notes: string[];
  /** Objects given twice (same kind, namespace and name): the first one read is kept. */
  duplicates: string[];
}

export function loadManifests(path: string): LoadResult {
  const store = new ObjectStore();
  const notes: string[] = [];
  const duplicates: string[] = [];
  const origin = new Map<string, string>();
  for (const file of manifestFiles(path)) {
    const r = readManifestFile(file);
    notes.push(...r.notes);
    for (const obj of r.objects) {
      const id = `${obj.kind} ${objectKey(obj as KubeObject)}`;
      const first = origin.get(id);
      if (first !== undefined) {
        duplicates.push(`${id} in ${file} skipped: already defined in ${first}`);
        continue;
      }
      origin.set(id, file);
      store.upsert(obj);
    }
  }
  for (const kind of OBJECT_KINDS) store.synced(kind);
  return { store, notes, duplicates };
}
