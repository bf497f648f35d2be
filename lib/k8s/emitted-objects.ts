// What one kind's watch has told the sink, so a relist can replace state (removing what is no
// longer listed) and so the informer's own replay of a list does not reach the sink twice. It is
// given objects as sluice keeps them (slimObject, in kind-watcher.ts): the very objects the informer
// caches, so the sink stores no copy of its own.
import { objectKey } from '../objects/objects.ts';
import type { KubeObject, ObjectKind, ObjectSink } from '../objects/objects.ts';

export class EmittedObjects {
  readonly kind: ObjectKind;
  #sink: ObjectSink;
  #versions = new Map<string, unknown>(); // key -> resourceVersion last sent

  constructor(kind: ObjectKind, sink: ObjectSink) {
    this.kind = kind;
    this.#sink = sink;
  }

  get size(): number {
    return this.#versions.size;
  }

  /** Sends an added or changed object, unless the sink already has this version of it. */
  upsert(obj: KubeObject): void {
    const key = objectKey(obj);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && this.#versions.has(key) && this.#versions.get(key) === rv) return;
    this.#versions.set(key, rv);
    this.#sink.upsert(obj);
  }

  /** Sends a removal, unless the sink never had the object or already lost it. */
  remove(obj: KubeObject): void {
    this.removeKey(objectKey(obj));
  }

  removeKey(key: string): void {
    if (!this.#versions.delete(key)) return;
    this.#sink.remove(this.kind, key);
  }

  /** A full list: everything in it is upserted, everything sent before and not in it is removed. */
  replace(items: readonly KubeObject[]): void {
    const listed = new Set<string>();
    for (const obj of items) {
      this.upsert(obj);
      listed.add(objectKey(obj));
    }
    for (const key of [...this.#versions.keys()]) {
      if (!listed.has(key)) this.removeKey(key);
    }
  }
}
