// Objects by kind and key, as the model reads them. Fed by a manifest folder or a cluster source.
import { objectKey, OBJECT_KINDS, type KubeObject, type ObjectKind, type ObjectSink } from './objects.ts';

/** The objects the model is built from, by kind. */
export interface ObjectSet {
  services: Iterable<KubeObject>;
  endpointSlices: Iterable<KubeObject>;
  endpoints: Iterable<KubeObject>;
  nodes: Iterable<KubeObject>;
  /** Absent: none (sources and tests from before ServiceCIDRs). */
  serviceCIDRs?: Iterable<KubeObject>;
}

export class ObjectStore implements ObjectSink {
  private byKind = new Map<ObjectKind, Map<string, KubeObject>>(OBJECT_KINDS.map((k) => [k, new Map()]));
  private syncedKinds = new Set<ObjectKind>();
  /** Called after every change (the sync loop coalesces them). */
  onChange?: (kind: ObjectKind, obj?: KubeObject) => void;

  upsert(obj: KubeObject): void {
    this.byKind.get(obj.kind)!.set(objectKey(obj), obj);
    this.changed(obj.kind, obj);
  }

  remove(kind: ObjectKind, key: string): void {
    if (this.byKind.get(kind)!.delete(key)) this.changed(kind);
  }

  synced(kind: ObjectKind): void {
    this.syncedKinds.add(kind);
    this.changed(kind);
  }

  isSynced(...kinds: ObjectKind[]): boolean {
    return kinds.every((k) => this.syncedKinds.has(k));
  }

  get(kind: ObjectKind, key: string): KubeObject | undefined {
    return this.byKind.get(kind)!.get(key);
  }

  count(kind: ObjectKind): number {
    return this.byKind.get(kind)!.size;
  }

  objects(): ObjectSet {
    return {
      services: this.byKind.get('Service')!.values(),
      endpointSlices: this.byKind.get('EndpointSlice')!.values(),
      endpoints: this.byKind.get('Endpoints')!.values(),
      nodes: this.byKind.get('Node')!.values(),
      serviceCIDRs: this.byKind.get('ServiceCIDR')!.values(),
    };
  }

  private changed(kind: ObjectKind, obj?: KubeObject) {
    this.onChange?.(kind, obj);
  }
}
