// An ObjectSink that remembers every call and the state those calls add up to.
import { objectKey } from '../../lib/objects/objects.ts';
import type { KubeObject, ObjectKind, ObjectSink } from '../../lib/objects/objects.ts';

export type SinkCall =
  | { op: 'upsert'; kind: ObjectKind; key: string; obj: KubeObject }
  | { op: 'remove'; kind: ObjectKind; key: string }
  | { op: 'synced'; kind: ObjectKind };

export class RecordingSink implements ObjectSink {
  readonly calls: SinkCall[] = [];
  readonly syncedKinds = new Set<ObjectKind>();
  #state = new Map<ObjectKind, Map<string, KubeObject>>();

  upsert(obj: KubeObject): void {
    const key = objectKey(obj);
    this.calls.push({ op: 'upsert', kind: obj.kind, key, obj });
    this.#of(obj.kind).set(key, obj);
  }

  remove(kind: ObjectKind, key: string): void {
    this.calls.push({ op: 'remove', kind, key });
    this.#of(kind).delete(key);
  }

  synced(kind: ObjectKind): void {
    this.calls.push({ op: 'synced', kind });
    this.syncedKinds.add(kind);
  }

  /** The keys currently held for a kind, sorted. */
  keys(kind: ObjectKind): string[] {
    return [...this.#of(kind).keys()].sort();
  }

  get(kind: ObjectKind, key: string): KubeObject | undefined {
    return this.#of(kind).get(key);
  }

  #of(kind: ObjectKind): Map<string, KubeObject> {
    let m = this.#state.get(kind);
    if (!m) this.#state.set(kind, (m = new Map()));
    return m;
  }
}

