// What one kind's watch has told the sink, so a relist can replace state (removing what is no
// longer listed) and so the informer's own replay of a list does not reach the sink twice.
import { objectKey, slimObject } from '../objects/objects.ts';
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
  upsert(raw: unknown): void {
    const obj: KubeObject = slimObject(this.kind, raw);
    const key = objectKey(obj);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && this.#versions.has(key) && this.#versions.get(key) === rv) return;
    this.#versions.set(key, rv);
    this.#sink.upsert(obj);
  }

  /** Sends a removal, unless the sink never had the object or already lost it. */
  remove(raw: unknown): void {
    this.removeKey(objectKey(raw as { metadata?: KubeObject['metadata'] }));
  }

  removeKey(key: string): void {
    if (!this.#versions.delete(key)) return;
    this.#sink.remove(this.kind, key);
  }

  /** A full list: everything in it is upserted, everything sent before and not in it is removed. */
  replace(items: readonly unknown[]): void {
    const listed = new Set<string>();
    for (const raw of items) {
      this.upsert(raw);
      listed.add(objectKey(raw as { metadata?: KubeObject['metadata'] }));
    }
    for (const key of [...this.#versions.keys()]) {
      if (!listed.has(key)) this.removeKey(key);
    }
  }
}
