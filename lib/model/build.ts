// From objects to the proxy's model: validate each object (once per object version), join services
// with their endpoints, resolve conflicts between services, and collect what was skipped and why.
import type { KubeObject } from '../objects/objects.ts';
import type { ObjectSet } from '../objects/store.ts';

export type { ObjectSet };
import { readEndpointSlice, readEndpoints, type EndpointGroup, type EndpointReading } from './endpoint-slices.ts';
import type { Family, ParsedCIDR } from './ip.ts';
import { readNode } from './node.ts';
import { InvalidObject, Problems } from './problems.ts';
import { readServiceCIDR, sortCIDRs } from './service-cidr.ts';
import { Claims } from './claims.ts';
import { readService, type ServiceDef, type ServiceReading } from './service.ts';
import { serviceKeyOf } from '../objects/changes.ts';
import type { Endpoint, Problem, ProxyModel, ServicePort } from './types.ts';
import { show } from './validate.ts';

export interface BuildOptions {
  /** The configuration's serviceCIDRs: the model's when no valid ServiceCIDR object exists. */
  configServiceCIDRs?: readonly ParsedCIDR[];
  /** The configuration's serviceProxyName: which Services this proxy serves (service.ts notOurs). */
  serviceProxyName?: string;
}

// Objects are replaced, never changed in place, so a reading can be kept for as long as its object lives.
const readings = new WeakMap<KubeObject, unknown>();

function cachedRead<T>(obj: KubeObject, read: (o: KubeObject) => T): T | InvalidObject {
  if (readings.has(obj)) return readings.get(obj) as T | InvalidObject;
  let result: T | InvalidObject;
  try {
    result = read(obj);
  } catch (e) {
    if (!(e instanceof InvalidObject)) throw e;
    result = e;
  }
  readings.set(obj, result);
  return result;
}

function describe(obj: KubeObject): string {
  const { namespace, name } = obj.metadata ?? {};
  // Names that are not valid are shown quoted, so a name cannot forge a log line.
  const part = (v: unknown) => (typeof v === 'string' && /^[A-Za-z0-9._-]{1,253}$/.test(v) ? v : show(v));
  return namespace === undefined ? part(name) : `${part(namespace)}/${part(name)}`;
}

export function buildModel(objects: ObjectSet, nodeName: string, options: BuildOptions = {}): ProxyModel {
  return buildModelTracked(objects, nodeName, options).model;
}

/** A model and what an update of some of its services (live-model.ts) starts from. */
export interface TrackedModel {
  model: ProxyModel;
  /** The problems of the Node and the ServiceCIDRs: only a build from all objects changes them. */
  fixedProblems: Problem[];
  /** The problems of each service's objects (Service, EndpointSlices, Endpoints), by serviceKeyOf. */
  problemsByService: Map<string, Problem[]>;
  layout: Layout;
}

export function buildModelTracked(objects: ObjectSet, nodeName: string, options: BuildOptions = {}): TrackedModel {
  const problems = new Problems();
  const problemsByService = new Map<string, Problem[]>();
  // Every object's problems in one list, in the order objects are read; a service's also under its key.
  const reader = new ObjectReader((obj) => {
    const key = serviceKeyOf(obj);
    if (key === undefined) return problems;
    let own = problemsByService.get(key);
    if (!own) problemsByService.set(key, (own = []));
    return { add: (...args) => { problems.add(...args); own.push(problems.list[problems.list.length - 1]); } };
  });

  let nodeObject: KubeObject | undefined;
  for (const n of objects.nodes) if (n.metadata?.name === nodeName) nodeObject = n;
  const nodeReading = nodeObject && reader.read(nodeObject, (o) => readNode(nodeName, o));
  for (const f of nodeReading?.ignored ?? []) problems.add('Node', describe(nodeObject!), f.reason, f.message, 'field');
  const node = (nodeReading ?? readNode(nodeName, undefined)).facts;

  const fromObjects: ParsedCIDR[] = [];
  for (const c of objects.serviceCIDRs ?? []) fromObjects.push(...(reader.read(c, readServiceCIDR) ?? []));
  // The objects, when the cluster has any (valid) ones; the configuration speaks for older clusters.
  const serviceCIDRs = sortCIDRs(fromObjects.length > 0 ? fromObjects : options.configServiceCIDRs ?? []);
  const fixedProblems = [...problems.list];

  const sliceGroups = new Map<string, EndpointGroup[]>();
  for (const s of objects.endpointSlices) reader.groups(s, readEndpointSlice, sliceGroups);
  const legacyGroups = new Map<string, EndpointGroup[]>();
  for (const e of objects.endpoints) reader.groups(e, readEndpoints, legacyGroups);

  const defs: ServiceDef[] = [];
  for (const s of objects.services) {
    const def = reader.service(s, options.serviceProxyName);
    if (def) defs.push(def);
  }
  const layout = layoutOf(defs);
  problems.list.push(...conflictProblems(layout.conflicts));
  const portsOf = layout.served.map((def) => {
    const key = serviceKey(def.namespace, def.name, def);
    return servicePortsOf(def, sliceGroups.get(key) ?? legacyGroups.get(key) ?? []);
  });
  layout.order ??= portOrder(portsOf);
  const servicePorts = layout.order.map(([d, p]) => portsOf[d][p]);
  for (const [k, list] of problemsByService) if (list.length === 0) problemsByService.delete(k);
  return { model: { node, servicePorts, serviceCIDRs, problems: problems.list }, fixedProblems, problemsByService, layout };
}

type ProblemSink = Pick<Problems, 'add'>;

/** Reads objects through the per-object cache; each object's problems go where `sinkOf` says. */
export class ObjectReader {
  private readonly sinkOf: (obj: KubeObject) => ProblemSink;
  constructor(sinkOf: (obj: KubeObject) => ProblemSink) {
    this.sinkOf = sinkOf;
  }

  read<T>(obj: KubeObject, fn: (o: KubeObject) => T): T | undefined {
    const r = cachedRead(obj, fn);
    if (r instanceof InvalidObject) {
      this.sinkOf(obj).add(obj.kind, describe(obj), r.reason, r.message);
      return undefined;
    }
    return r;
  }

  /** An EndpointSlice's or Endpoints' groups, added to `into` under their service's key. */
  groups(obj: KubeObject, fn: (o: KubeObject) => EndpointReading, into: Map<string, EndpointGroup[]>): void {
    const r = this.read(obj, fn);
    if (!r) return;
    for (const s of r.skipped) this.sinkOf(obj).add(obj.kind, describe(obj), s.reason, s.message, 'endpoint');
    for (const g of r.groups) pushTo(into, serviceKey(g.namespace, g.service, g), g);
  }

  /** What a Service programs; undefined when it is invalid or not this proxy's. */
  service(obj: KubeObject, serviceProxyName: string | undefined): ServiceDef | undefined {
    // Readings are cached per object: one process has one serviceProxyName.
    const r = this.read<ServiceReading>(obj, (o) => readService(o, serviceProxyName));
    if (!r || !('program' in r)) return undefined;
    for (const f of r.program.ignored) this.sinkOf(obj).add('Service', describe(obj), f.reason, f.message, 'field');
    return r.program;
  }
}

/** The services that lost a conflict, as problems. */
export function conflictProblems(conflicts: ReadonlyMap<ServiceDef, string>): Problem[] {
  const problems = new Problems();
  for (const [def, conflict] of conflicts) problems.add('Service', `${def.namespace}/${def.name}`, 'conflict', conflict);
  return problems.list;
}

// namespace/name of the Service a reading belongs to, made once per reading: a sync at 10,000
// services looks at every reading, and the readings of unchanged objects are the same objects.
const serviceKeys = new WeakMap<object, string>();
export function serviceKey(namespace: string, name: string, of: object): string {
  let k = serviceKeys.get(of);
  if (k === undefined) serviceKeys.set(of, (k = `${namespace}/${name}`));
  return k;
}

/**
 * Which services are served, which lost a conflict, and in what order their ports come: all of it
 * follows from the Service objects alone. An endpoint change leaves them as they were, so the last
 * answer is kept while the services are the same objects, in the same order, as at the last sync.
 */
export interface Layout {
  defs: ServiceDef[];
  served: ServiceDef[];
  conflicts: Map<ServiceDef, string>;
  /** servicePorts as [index in served, index in its ports], sorted; made once per layout. */
  order?: [number, number][];
}
let lastLayout: Layout | undefined;

export function layoutOf(defs: ServiceDef[]): Layout {
  const last = lastLayout;
  if (last && last.defs.length === defs.length && last.defs.every((d, i) => d === defs[i])) return last;
  const byAge = [...defs].sort((a, b) => cmp(a.created, b.created) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
  const claims = new Claims();
  const served: ServiceDef[] = [];
  const conflicts = new Map<ServiceDef, string>();
  for (const def of byAge) {
    const conflict = claims.claim(def);
    if (conflict) conflicts.set(def, conflict);
    else served.push(def);
  }
  lastLayout = { defs, served, conflicts };
  return lastLayout;
}

function portOrder(portsOf: ServicePort[][]): [number, number][] {
  const order = portsOf.flatMap((ports, d) => ports.map((_, p): [number, number] => [d, p]));
  return order.sort(([d, p], [e, q]) => comparePorts(portsOf[d][p], portsOf[e][q]));
}

/** The model's order of service ports: by service (namespace, name), then family, port name, port, protocol. */
export function comparePorts(a: ServicePort, b: ServicePort): number {
  return compareServices(a, b) || a.family - b.family || cmp(a.portName, b.portName) || a.port - b.port || cmp(a.protocol, b.protocol);
}

export function compareServices(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  return cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

// A service's ports are rebuilt only when its Service or one of its endpoint groups changed: a sync
// at 10,000 services then costs a look at each service, not a rebuild of each.
const servicePortCache = new WeakMap<ServiceDef, { groups: EndpointGroup[]; ports: ServicePort[] }>();

export function servicePortsOf(def: ServiceDef, groups: EndpointGroup[]): ServicePort[] {
  const cached = servicePortCache.get(def);
  if (cached && cached.groups.length === groups.length && cached.groups.every((g, i) => g === groups[i])) return cached.ports;
  const ports: ServicePort[] = [];
  for (const clusterIP of def.clusterIPs) {
    const family = clusterIP.family;
    const ofFamily = <T extends { family: Family }>(list: T[]) => list.filter((x) => x.family === family);
    for (const port of def.ports) {
      ports.push({
        namespace: def.namespace,
        name: def.name,
        portName: port.name,
        protocol: port.protocol,
        family,
        clusterIP: clusterIP.address,
        port: port.port,
        nodePort: port.nodePort,
        externalIPs: unique(ofFamily(def.externalIPs).map((i) => i.address)),
        loadBalancerIPs: unique(ofFamily(def.loadBalancerIPs).map((i) => i.address)),
        sourceRanges: unique(ofFamily(def.sourceRanges).map((c) => c.cidr)),
        externalPolicyLocal: def.externalPolicyLocal,
        internalPolicyLocal: def.internalPolicyLocal,
        affinityTimeout: def.affinityTimeout,
        healthCheckNodePort: def.healthCheckNodePort,
        ...(def.lbAlgorithm ? { lbAlgorithm: def.lbAlgorithm } : {}),
        endpoints: endpointsFor(groups, family, port.name, port.protocol),
      });
    }
  }
  servicePortCache.set(def, { groups, ports });
  return ports;
}

/** Endpoints of one service port: each group's own port number for that port name (so a named targetPort may differ per slice). */
function endpointsFor(groups: EndpointGroup[], family: Family, portName: string, protocol: string): Endpoint[] {
  const byTarget = new Map<string, { endpoint: Endpoint; key: string }>();
  for (const g of groups) {
    if (g.family !== family) continue;
    const gp = g.ports.find((p) => p.name === portName && p.protocol === protocol);
    if (!gp) continue;
    for (const e of g.endpoints) {
      const key = `${e.sortKey} ${String(gp.port).padStart(5, '0')}`;
      const earlier = byTarget.get(key)?.endpoint;
      // The same endpoint in two slices (during a slice handover): the readier reading wins.
      if (earlier && (earlier.ready || (!e.ready && earlier.serving))) continue;
      const endpoint: Endpoint = { address: e.address, port: gp.port, nodeName: e.nodeName, ready: e.ready, serving: e.serving, terminating: e.terminating };
      if (e.zoneHints) endpoint.zoneHints = e.zoneHints;
      if (e.nodeHints) endpoint.nodeHints = e.nodeHints;
      byTarget.set(key, { endpoint, key });
    }
  }
  const list = [...byTarget.values()];
  // Slices usually list their endpoints in order already: then there is nothing to sort.
  let sorted = true;
  for (let i = 1; i < list.length && sorted; i++) sorted = list[i - 1].key < list[i].key;
  if (!sorted) list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return list.map((x) => x.endpoint);
}

function pushTo<T>(m: Map<string, T[]>, k: string, v: T) {
  const list = m.get(k);
  if (list) list.push(v); else m.set(k, [v]);
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
