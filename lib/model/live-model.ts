// The model kept up to date from sync to sync: when only some services' objects changed (the store
// says which), only those services are read again and only their ports are rebuilt; every other
// service port is the same object as before. A change to the Node or the ServiceCIDRs, and the first
// build, take the build from all objects (build.ts), as does a new configuration (a new LiveModel).
import type { ObjectChanges } from '../objects/changes.ts';
import type { ObjectStore } from '../objects/store.ts';
import type { EndpointGroup } from './endpoint-slices.ts';
import { readEndpoints, readEndpointSlice } from './endpoint-slices.ts';
import {
  buildModelTracked, compareServices, comparePorts, conflictProblems, layoutOf, ObjectReader, servicePortsOf, serviceKey,
  type BuildOptions, type TrackedModel,
} from './build.ts';
import { ClaimIndex } from './claims.ts';
import type { ServiceDef } from './service.ts';
import { Problems } from './problems.ts';
import type { ProxyModel, ServicePort } from './types.ts';

export class LiveModel {
  private readonly nodeName: string;
  private readonly options: BuildOptions;
  private last?: Omit<TrackedModel, 'layout'>;
  /** Each service's ServiceDef now (absent or undefined: none, invalid, or not this proxy's). */
  private defs = new Map<string, ServiceDef | undefined>();
  /** The ServiceDefs that won their claims, and why the others lost. */
  private served = new Set<ServiceDef>();
  private conflicts = new Map<ServiceDef, string>();
  /** Made at the first change of a Service after a full build. */
  private claims?: ClaimIndex;

  constructor(nodeName: string, options: BuildOptions = {}) {
    this.nodeName = nodeName;
    this.options = options;
  }

  /** The model of the store's objects now; `changes` (store.takeChanges()) says what changed since the last call. */
  update(store: ObjectStore, changes: ObjectChanges): ProxyModel {
    if (!this.last || changes.all) {
      const built = buildModelTracked(store.objects(), this.nodeName, this.options);
      this.last = built;
      // Made here, where every service is looked at anyway, rather than at the first change.
      this.defs = new Map(built.layout.defs.map((d) => [serviceKey(d.namespace, d.name, d), d]));
      this.served = new Set(built.layout.served);
      this.conflicts = new Map(built.layout.conflicts);
      this.claims = undefined;
      return built.model;
    }
    if (changes.services.size === 0) return this.last.model;
    return this.updateServices(store, changes.services);
  }

  private updateServices(store: ObjectStore, keys: ReadonlySet<string>): ProxyModel {
    const last = this.last!;
    const problemsByService = new Map(last.problemsByService);
    const readings = new Map<string, { def?: ServiceDef; groups: EndpointGroup[] }>();
    const readService = (key: string) => {
      const problems = new Problems();
      const reader = new ObjectReader(() => problems);
      const objs = store.serviceObjects(key);
      const slices = new Map<string, EndpointGroup[]>(), legacy = new Map<string, EndpointGroup[]>();
      for (const s of objs.endpointSlices) reader.groups(s, readEndpointSlice, slices);
      if (objs.endpoints) reader.groups(objs.endpoints, readEndpoints, legacy);
      const def = objs.service && reader.service(objs.service, this.options.serviceProxyName);
      // A slice without a usable label is keyed apart (changes.ts): its groups, if any, are no one's.
      const groups = slices.get(key) ?? legacy.get(key) ?? [];
      if (problems.list.length > 0) problemsByService.set(key, problems.list); else problemsByService.delete(key);
      readings.set(key, { def, groups });
    };
    for (const key of keys) readService(key);

    const changed = new Set(keys);
    for (const key of this.claimChanges(store, readings)) {
      changed.add(key);
      if (!readings.has(key)) readService(key);
    }
    const served = this.served;

    const servicePorts = last.model.servicePorts.slice();
    const removed: ServicePort[] = [], added: ServicePort[] = [];
    for (const key of changed) {
      const { def, groups } = readings.get(key)!;
      const ports = def && served.has(def) ? servicePortsOf(def, groups) : [];
      const id = ports[0] ?? this.portsOf(servicePorts, key);
      if (!id) continue; // neither before nor now served
      const [from, to] = range(servicePorts, id);
      removed.push(...servicePorts.slice(from, to));
      added.push(...ports);
      servicePorts.splice(from, to - from, ...[...ports].sort(comparePorts));
    }
    const problems = [...last.fixedProblems, ...[...problemsByService.values()].flat(), ...conflictProblems(this.conflicts)];
    const model: ProxyModel = {
      node: last.model.node, servicePorts, serviceCIDRs: last.model.serviceCIDRs, problems,
      change: { base: new WeakRef(last.model), removed, added },
    };
    this.last = { model, fixedProblems: last.fixedProblems, problemsByService };
    return model;
  }

  /**
   * Takes the changed services' new ServiceDefs into which services are served (the Services alone
   * decide it), and returns the unchanged services that won or lost a conflict by it. A service that
   * shares no claimed key with another wins, and no one else's claims move; otherwise the claims
   * of all services are decided again, as a full build does.
   */
  private claimChanges(store: ObjectStore, readings: Map<string, { def?: ServiceDef }>): string[] {
    const moved = [...readings].filter(([key, r]) => r.def !== this.defs.get(key)).map(([key, r]) => ({ key, before: this.defs.get(key), after: r.def }));
    if (moved.length === 0) return [];
    this.claims ??= new ClaimIndex(this.defs);
    for (const { key, before, after } of moved) {
      if (before) this.claims.remove(key, before);
      if (after) this.claims.add(key, after);
      this.defs.set(key, after);
    }
    const apart = moved.every(({ key, before, after }) => !(before && this.claims!.shared(key, before)) && !(after && this.claims!.shared(key, after)));
    if (apart) {
      for (const { before, after } of moved) {
        if (before) { this.served.delete(before); this.conflicts.delete(before); }
        if (after) this.served.add(after);
      }
      return [];
    }
    const layout = layoutOf(this.allDefs(store));
    const served = new Set(layout.served);
    // A service can win or lose a conflict without any object of its own changing.
    const flipped = symmetricDifference(this.served, served).map((d) => serviceKey(d.namespace, d.name, d));
    this.served = served;
    this.conflicts = new Map(layout.conflicts);
    return flipped;
  }

  /** Every Service's ServiceDef, in the store's order (as buildModel reads them). */
  private allDefs(store: ObjectStore): ServiceDef[] {
    const reader = new ObjectReader(() => ({ add: () => {} })); // their problems are each service's, kept already
    const defs: ServiceDef[] = [];
    for (const s of store.objects().services) {
      const def = reader.service(s, this.options.serviceProxyName);
      if (def) defs.push(def);
    }
    return defs;
  }

  /** A port of the service `key` in the model, if it has any. */
  private portsOf(servicePorts: ServicePort[], key: string): { namespace: string; name: string } | undefined {
    const slash = key.indexOf('/');
    if (slash < 0) return undefined;
    const probe = { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
    const [from, to] = range(servicePorts, probe);
    return from < to ? probe : undefined;
  }
}

/** Where the ports of one service are in the model's sorted list: [first, after the last), empty where they would go. */
function range(ports: ServicePort[], service: { namespace: string; name: string }): [number, number] {
  const bound = (after: boolean) => {
    let lo = 0, hi = ports.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareServices(ports[mid], service);
      if (c < 0 || (after && c === 0)) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  return [bound(false), bound(true)];
}

function symmetricDifference<T>(a: Set<T>, b: Set<T>): T[] {
  return [...[...a].filter((x) => !b.has(x)), ...[...b].filter((x) => !a.has(x))];
}
