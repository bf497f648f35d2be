// Objects by kind and key, as the model reads them. Fed by a manifest folder or a cluster source.
import { ChangeTracker, serviceKeyOf, type ObjectChanges } from './changes.ts';
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
  /** Keys of the EndpointSlices of each service (serviceKeyOf), so one service's objects are found without a scan. */
  private slicesByService = new Map<string, Set<string>>();
  /**
   * Each EndpointSlice's place in the store's order (a Map keeps a replaced key where it was): one
   * service's slices are read in the order a read of all slices meets them, which decides between
   * two slices listing the same endpoint alike (build.ts endpointsFor).
   */
  private sliceOrder = new Map<string, number>();
  private nextSlice = 0;
  private changes = new ChangeTracker();
  /** Called after every change (the sync loop coalesces them). */
  onChange?: (kind: ObjectKind, obj?: KubeObject) => void;

  upsert(obj: KubeObject): void {
    const key = objectKey(obj);
    const objects = this.byKind.get(obj.kind)!;
    this.forget(objects.get(key), key);
    objects.set(key, obj);
    this.note(obj, key);
    this.changed(obj.kind, obj);
  }

  remove(kind: ObjectKind, key: string): void {
    const objects = this.byKind.get(kind)!;
    const old = objects.get(key);
    if (!old) return;
    this.forget(old, key, true);
    objects.delete(key);
    this.changed(kind);
  }

  synced(kind: ObjectKind): void {
    this.syncedKinds.add(kind);
    this.changes.everything();
    this.changed(kind);
  }

  /** Which objects changed since the last call (the first call: everything). */
  takeChanges(): ObjectChanges {
    return this.changes.take();
  }

  /** The objects one service is built from: its Service, its EndpointSlices and its Endpoints, by serviceKeyOf. */
  serviceObjects(serviceKey: string): { service?: KubeObject; endpointSlices: KubeObject[]; endpoints?: KubeObject } {
    const slices = this.byKind.get('EndpointSlice')!;
    return {
      service: this.byKind.get('Service')!.get(serviceKey),
      endpointSlices: [...this.slicesByService.get(serviceKey) ?? []]
        .sort((a, b) => this.sliceOrder.get(a)! - this.sliceOrder.get(b)!).map((k) => slices.get(k)!),
      endpoints: this.byKind.get('Endpoints')!.get(serviceKey),
    };
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

  /** An object arrived: its service changed (or, for a Node or ServiceCIDR, everything did). */
  private note(obj: KubeObject, key: string) {
    const service = serviceKeyOf(obj);
    if (service === undefined) return this.changes.everything();
    this.changes.service(service);
    if (obj.kind !== 'EndpointSlice') return;
    if (!this.sliceOrder.has(key)) this.sliceOrder.set(key, this.nextSlice++);
    let keys = this.slicesByService.get(service);
    if (!keys) this.slicesByService.set(service, (keys = new Set()));
    keys.add(key);
  }

  /** An object is replaced or removed (`removed`: its key leaves the store): the service it belonged to changed. */
  private forget(old: KubeObject | undefined, key: string, removed = false) {
    if (!old) return;
    const service = serviceKeyOf(old);
    if (service === undefined) return this.changes.everything();
    this.changes.service(service);
    if (old.kind !== 'EndpointSlice') return;
    const keys = this.slicesByService.get(service);
    keys?.delete(key);
    if (keys?.size === 0) this.slicesByService.delete(service);
    if (removed) this.sliceOrder.delete(key);
  }

  private changed(kind: ObjectKind, obj?: KubeObject) {
    this.onChange?.(kind, obj);
  }
}
