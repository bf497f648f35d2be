// A synthetic cluster as a manifest folder: N services with E endpoints each, plus this node.
//
// Two mixes of services:
// - uniform (the default): every Service a ClusterIP with one TCP port, one IPv4 EndpointSlice each;
// - realistic: a fifth NodePort or LoadBalancer (load-balancer ingress IPs; a quarter of those with
//   externalTrafficPolicy Local and a quarter with loadBalancerSourceRanges), 10% with 2 or 3 ports,
//   10% dual-stack (an IPv6 cluster IP and an IPv6 EndpointSlice with as many endpoints), 1% UDP, 1%
//   ClientIP session affinity. Node ports are 30000 + 4 × (i / 5) + port: at 44,000 services that is
//   up to 65,200 (kube-apiserver's --service-node-port-range set wide, as clusters that large do).
// Two layouts of the files:
// - per-object (the default): one JSON file per Service and per EndpointSlice (services/svc-I.json,
//   endpointslices/svc-I.json);
// - lists: files of --per-file objects each as a `kind: List` (services/part-NNNN.json holding the
//   Services I..I+perFile-1, endpointslices/part-NNNN.json their slices), as a cluster's manifests
//   are usually kept. One endpoint change then rewrites one file of perFile EndpointSlices.
// Usage: node bench/synth.ts OUT_DIR [--services 10000] [--endpoints 10] [--mix uniform|realistic]
//                                    [--layout per-object|lists] [--per-file 1000]
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export type Mix = 'uniform' | 'realistic';
export type Layout = 'per-object' | 'lists';

export interface SynthOptions {
  services: number;
  endpoints: number;
  mix?: Mix;
  layout?: Layout;
  /** objects per file in the lists layout (default 1000) */
  perFile?: number;
}

export const NODE_NAME = 'node1';
export const NODE_IPS = ['172.30.0.1', 'fd00:30::1'];
export const POD_CIDRS = ['10.128.0.0/9', 'fd00:128::/48'];

/** The i-th service's cluster IP (10.96.0.0/12 holds a million) and its endpoints' pod addresses. */
export function serviceIP(i: number): string {
  const n = i + 1;
  return `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export function serviceIP6(i: number): string {
  const n = i + 1;
  return `fd00:96::${(n >> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
}

/** Pod addresses from 10.128.0.1 up, one per endpoint (10.128.0.0/9 holds eight million). */
export function podAddress(n: number): string {
  const v = n + 1;
  return `10.${128 + ((v >> 16) & 127)}.${(v >> 8) & 255}.${v & 255}`;
}

export function podAddress6(n: number): string {
  const v = n + 1;
  return `fd00:128::${(v >> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
}

/** Load-balancer ingress addresses: 198.18.0.0/15 and 2001:db8::/64 (benchmark and documentation ranges). */
export function ingressIP(i: number): string {
  const n = i + 1;
  return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;
}

export function ingressIP6(i: number): string {
  return `2001:db8::${((i + 1) & 0xffff).toString(16)}`;
}

export interface PortSpec { name: string; port: number; targetPort: number; protocol: 'TCP' | 'UDP'; nodePort?: number }

/** What the i-th service of the mix is: the knobs its Service and slices are written from. */
export interface ServiceShape {
  i: number;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  ports: PortSpec[];
  dualStack: boolean;
  externalLocal: boolean;
  sourceRanges: string[];
  affinity: boolean;
  healthCheckNodePort?: number;
}

export function serviceShape(i: number, opts: SynthOptions): ServiceShape {
  if ((opts.mix ?? 'uniform') === 'uniform') {
    return { i, type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], dualStack: false, externalLocal: false, sourceRanges: [], affinity: false };
  }
  const type = i % 5 !== 0 ? 'ClusterIP' : i % 10 === 0 ? 'NodePort' : 'LoadBalancer';
  const nPorts = Math.floor(i / 3) % 10 === 0 ? (Math.floor(i / 3) % 20 === 0 ? 2 : 3) : 1;
  const udp = i % 100 === 50;
  const ports: PortSpec[] = udp
    ? [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }]
    : [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }, { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' }].slice(0, nPorts) as PortSpec[];
  const base = 30000 + 4 * Math.floor(i / 5);
  if (type !== 'ClusterIP') ports.forEach((p, k) => { p.nodePort = base + k; });
  const externalLocal = type === 'LoadBalancer' && i % 20 === 5;
  return {
    i, type, ports,
    dualStack: Math.floor(i / 7) % 10 === 1,
    externalLocal,
    sourceRanges: type === 'LoadBalancer' && i % 20 === 15 ? ['203.0.113.0/24', '192.0.2.0/24'] : [],
    affinity: i % 100 === 77,
    healthCheckNodePort: externalLocal ? base + 3 : undefined,
  };
}

export function service(i: number, opts: SynthOptions = { services: i + 1, endpoints: 1 }) {
  const s = serviceShape(i, opts);
  const clusterIPs = s.dualStack ? [serviceIP(i), serviceIP6(i)] : [serviceIP(i)];
  const spec: Record<string, unknown> = {
    type: s.type, clusterIP: clusterIPs[0], clusterIPs,
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol, ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
  };
  if (s.dualStack) Object.assign(spec, { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] });
  if (s.type !== 'ClusterIP') spec.externalTrafficPolicy = s.externalLocal ? 'Local' : 'Cluster';
  if (s.healthCheckNodePort) spec.healthCheckNodePort = s.healthCheckNodePort;
  if (s.sourceRanges.length) spec.loadBalancerSourceRanges = s.sourceRanges;
  if (s.affinity) Object.assign(spec, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } });
  const obj: Record<string, unknown> = { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'bench' }, spec };
  if (s.type === 'LoadBalancer') obj.status = { loadBalancer: { ingress: (s.dualStack ? [ingressIP(i), ingressIP6(i)] : [ingressIP(i)]).map((ip) => ({ ip })) } };
  return obj;
}

/** The node of the j-th endpoint: a tenth on node1 (this node), the rest spread over node2..node10. */
export function endpointNode(j: number): string {
  return j % 10 === 0 ? NODE_NAME : `node${2 + (j % 9)}`;
}

export function endpointSlice(i: number, opts: SynthOptions, podIP: (j: number) => string = (j) => podAddress(i * opts.endpoints + j), family: 'IPv4' | 'IPv6' = 'IPv4') {
  const s = serviceShape(i, opts);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: family === 'IPv4' ? `svc-${i}-abcde` : `svc-${i}-v6xyz`, namespace: 'bench', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: family,
    ports: s.ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol })),
    endpoints: Array.from({ length: opts.endpoints }, (_, j) => ({
      addresses: [podIP(j)],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: endpointNode(j),
    })),
  };
}

/** The i-th service's EndpointSlices: IPv4, and IPv6 when it is dual-stack; `first` replaces endpoint 0's IPv4 address. */
export function endpointSlices(i: number, opts: SynthOptions, first?: string) {
  const v4 = endpointSlice(i, opts, (j) => (j === 0 && first ? first : podAddress(i * opts.endpoints + j)));
  return serviceShape(i, opts).dualStack ? [v4, endpointSlice(i, opts, (j) => podAddress6(i * opts.endpoints + j), 'IPv6')] : [v4];
}

export function nodeObject() {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME },
    spec: { podCIDRs: [...POD_CIDRS] },
    status: { addresses: NODE_IPS.map((address) => ({ type: 'InternalIP', address })) },
  };
}

/**
 * An object as a real API server serves it, not as the synthetic manifests hold it: managedFields of
 * its writers, kubectl's last-applied-configuration, a uid, owner references (slices), a Service's
 * selector, an endpoint's targetRef and zone. For the memory benchmark: what a source keeps of them.
 */
export function asServed<T extends Record<string, any>>(obj: T): T {
  const out = structuredClone(obj) as Record<string, any>;
  const m = out.metadata;
  m.uid = `${m.name}-0000-4000-8000-000000000000`.slice(0, 36);
  m.creationTimestamp = '2026-01-01T00:00:00Z';
  m.generation = 1;
  m.annotations = { ...m.annotations, 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(obj) };
  m.managedFields = [
    { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: out.apiVersion, time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} } }, 'f:spec': { 'f:ports': { '.': {} }, 'f:selector': {}, 'f:type': {} } } },
    { manager: 'kube-controller-manager', operation: 'Update', apiVersion: out.apiVersion, time: '2026-01-01T00:00:01Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:loadBalancer': {} } } },
  ];
  if (out.kind === 'Service') out.spec = { ...out.spec, selector: { app: m.name }, ipFamilies: ['IPv4'], sessionAffinity: out.spec.sessionAffinity ?? 'None', internalTrafficPolicy: 'Cluster' };
  if (out.kind === 'EndpointSlice') {
    const service = m.labels['kubernetes.io/service-name'];
    m.ownerReferences = [{ apiVersion: 'v1', kind: 'Service', name: service, uid: `${service}-uid`, controller: true, blockOwnerDeletion: true }];
    m.labels = { ...m.labels, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' };
    out.endpoints = out.endpoints.map((e: any, j: number) => ({ ...e, zone: 'zone-a', targetRef: { kind: 'Pod', namespace: m.namespace, name: `${service}-pod-${j}`, uid: `${service}-${j}-pod-uid-0000-000000000000`.slice(0, 36) } }));
  }
  return out as T;
}

function writeAtomically(file: string, text: string): void {
  const tmp = join(file, '..', `.${file.split('/').pop()}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * The cluster's files, and endpoint changes made to them as a tool would (write a temporary file and
 * rename it): in the lists layout one change rewrites the file of perFile EndpointSlices holding it.
 */
export class SyntheticCluster {
  readonly dir: string;
  readonly opts: SynthOptions;
  /** service → the address its first IPv4 endpoint has now */
  private readonly changed = new Map<number, string>();

  constructor(dir: string, opts: SynthOptions) {
    this.dir = dir;
    this.opts = opts;
  }

  get perFile(): number { return this.opts.perFile ?? 1000; }
  get layout(): Layout { return this.opts.layout ?? 'per-object'; }

  write(): void {
    const { dir, opts } = this;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'services'), { recursive: true });
    mkdirSync(join(dir, 'endpointslices'), { recursive: true });
    writeFileSync(join(dir, 'node.json'), JSON.stringify(nodeObject()));
    if (this.layout === 'per-object') {
      for (let i = 0; i < opts.services; i++) {
        writeFileSync(join(dir, 'services', `svc-${i}.json`), JSON.stringify(service(i, opts)));
        const slices = endpointSlices(i, opts);
        writeFileSync(join(dir, 'endpointslices', `svc-${i}.json`), JSON.stringify(slices.length === 1 ? slices[0] : { apiVersion: 'v1', kind: 'List', items: slices }));
      }
      return;
    }
    for (let f = 0; f * this.perFile < opts.services; f++) {
      const items = [];
      for (let i = f * this.perFile; i < Math.min(opts.services, (f + 1) * this.perFile); i++) items.push(service(i, opts));
      writeFileSync(this.servicesFile(f), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      this.writeSlicesFile(f, false);
    }
  }

  servicesFile(f: number): string {
    return join(this.dir, 'services', `part-${String(f).padStart(4, '0')}.json`);
  }

  slicesFile(f: number): string {
    return join(this.dir, 'endpointslices', `part-${String(f).padStart(4, '0')}.json`);
  }

  private writeSlicesFile(f: number, atomically: boolean): void {
    const items = [];
    for (let i = f * this.perFile; i < Math.min(this.opts.services, (f + 1) * this.perFile); i++) items.push(...endpointSlices(i, this.opts, this.changed.get(i)));
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    if (atomically) writeAtomically(this.slicesFile(f), text);
    else writeFileSync(this.slicesFile(f), text);
  }

  /** The IPv4 EndpointSlice of service i as it is now. */
  slice(i: number) {
    return endpointSlices(i, this.opts, this.changed.get(i))[0];
  }

  /** Gives service i's first IPv4 endpoint a new address, in memory only (see flush). */
  setEndpoint(i: number, address: string): void {
    this.changed.set(i, address);
  }

  /** Writes the files holding the given services' slices, each once (write and rename). */
  flush(services: number[]): void {
    if (this.layout === 'per-object') {
      for (const i of new Set(services)) {
        const slices = endpointSlices(i, this.opts, this.changed.get(i));
        writeAtomically(join(this.dir, 'endpointslices', `svc-${i}.json`), JSON.stringify(slices.length === 1 ? slices[0] : { apiVersion: 'v1', kind: 'List', items: slices }));
      }
      return;
    }
    for (const f of new Set(services.map((i) => Math.floor(i / this.perFile)))) this.writeSlicesFile(f, true);
  }

  /** One endpoint change: the address in memory, then its file rewritten. */
  editEndpoint(i: number, address: string): void {
    this.setEndpoint(i, address);
    this.flush([i]);
  }
}

export function writeSyntheticCluster(dir: string, opts: SynthOptions): SyntheticCluster {
  const c = new SyntheticCluster(dir, opts);
  c.write();
  return c;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { services: { type: 'string', default: '10000' }, endpoints: { type: 'string', default: '10' }, mix: { type: 'string', default: 'uniform' }, layout: { type: 'string', default: 'per-object' }, 'per-file': { type: 'string', default: '1000' } },
  });
  if (positionals.length !== 1) throw new Error('usage: synth.ts OUT_DIR [--services N] [--endpoints E] [--mix uniform|realistic] [--layout per-object|lists] [--per-file N]');
  writeSyntheticCluster(positionals[0], { services: Number(values.services), endpoints: Number(values.endpoints), mix: values.mix as Mix, layout: values.layout as Layout, perFile: Number(values['per-file']) });
}
