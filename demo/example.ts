// The demo's example folder (examples/demo), read with sluice's own manifest reader and model: the
// demo probes the addresses the Services have, builds the pods their EndpointSlices name (targetRef),
// and edits my-service's EndpointSlice file as a controller would.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import { NODE_NAMES, podAddresses, type NodeName, type PodSpec } from '../lab/topology.ts';
import { loadManifests } from '../lib/manifests/load.ts';
import { manifestFiles } from '../lib/manifests/read.ts';
import { buildModel } from '../lib/model/build.ts';

export const EXAMPLE_DIR = fileURLToPath(new URL('../examples/demo', import.meta.url));
/** node1's KubeProxyConfiguration, in the example folder (not a manifest: it does not end in .yaml). */
export const CONFIG_FILE = 'kube-proxy.conf';
/** my-service's EndpointSlice, the file the demo rewrites. */
export const SLICE_FILE = 'my-service-endpointslice.yaml';
/** The node sluice runs on. */
export const SLUICE_NODE: NodeName = 'node1';

export interface DemoEndpoint {
  pod: string;
  node: NodeName;
  address: string;
  ready: boolean;
}

export interface DemoService {
  name: string;
  type: string;
  clusterIP: string;
  port: number;
  nodePort?: number;
  loadBalancerIPs: string[];
  externalPolicyLocal: boolean;
  affinity: boolean;
  endpoints: DemoEndpoint[];
}

export interface Example {
  services: Map<string, DemoService>;
  /** Every pod an EndpointSlice names, as a lab pod. */
  pods: PodSpec[];
  /** Load-balancer and external addresses, which the client routes via node1. */
  extraRoutes: string[];
  /** The TCP ports the pods serve (the endpoints' ports). */
  podPorts: number[];
}

function isNode(name: unknown): name is NodeName {
  return NODE_NAMES.includes(name as NodeName);
}

/** The lab pod for an endpoint: its name from targetRef, its index from its address (10.244.<node>.<index>). */
function labPod(ep: any, where: string): PodSpec & { address: string } {
  const name = ep?.targetRef?.name;
  const address = ep?.addresses?.[0];
  const node = ep?.nodeName;
  if (typeof name !== 'string' || typeof address !== 'string' || !isNode(node)) {
    throw new Error(`${where}: every endpoint needs targetRef.name, an address and nodeName node1 or node2`);
  }
  const index = Number(address.split('.').pop());
  if (podAddresses(node, index).ipv4 !== address) throw new Error(`${where}: ${address} is not a pod address of the lab's ${node}`);
  return { name, node, index, address };
}

/**
 * The EndpointSlices of the folder as written: sluice's reader keeps of an endpoint only what the
 * proxy reads (lib/objects/objects.ts), and the pod names the demo builds are in targetRef.
 */
function writtenSlices(dir: string): any[] {
  return manifestFiles(dir).flatMap((f) => yaml.loadAll(readFileSync(f, 'utf8')) as any[]).filter((o) => o?.kind === 'EndpointSlice');
}

export function readExample(dir: string): Example {
  const { store } = loadManifests(dir);
  const pods = new Map<string, PodSpec & { address: string }>();
  for (const slice of writtenSlices(dir)) {
    for (const ep of (slice.endpoints as unknown[] | undefined) ?? []) {
      const pod = labPod(ep, `EndpointSlice ${String(slice.metadata?.name)}`);
      const seen = pods.get(pod.name);
      if (seen && (seen.node !== pod.node || seen.index !== pod.index)) throw new Error(`pod ${pod.name} has two addresses in ${dir}`);
      pods.set(pod.name, pod);
    }
  }
  const podAt = new Map([...pods.values()].map((p) => [p.address, p]));
  const types = new Map([...store.objects().services].map((s) => [String(s.metadata.name), String(s.spec?.type ?? 'ClusterIP')]));
  const model = buildModel(store.objects(), SLUICE_NODE);
  const services = new Map<string, DemoService>();
  for (const sp of model.servicePorts) {
    if (sp.family !== 4 || sp.protocol !== 'tcp') continue;
    services.set(sp.name, {
      name: sp.name, type: types.get(sp.name) ?? 'ClusterIP', clusterIP: sp.clusterIP, port: sp.port, nodePort: sp.nodePort,
      loadBalancerIPs: sp.loadBalancerIPs, externalPolicyLocal: sp.externalPolicyLocal, affinity: sp.affinityTimeout !== undefined,
      endpoints: sp.endpoints.map((e) => {
        const pod = podAt.get(e.address);
        if (!pod) throw new Error(`${sp.name}: no pod for endpoint ${e.address}`);
        return { pod: pod.name, node: pod.node, address: e.address, ready: e.ready };
      }),
    });
  }
  const extraRoutes = [...new Set(model.servicePorts.flatMap((sp) => [...sp.loadBalancerIPs, ...sp.externalIPs]))]
    .filter((a) => !a.includes(':')).map((a) => `${a}/32`);
  const podPorts = [...new Set(model.servicePorts.flatMap((sp) => sp.endpoints.map((e) => e.port)))].sort((a, b) => a - b);
  return { services, pods: [...pods.values()].map(({ name, node, index }) => ({ name, node, index })), extraRoutes, podPorts };
}

export function service(example: Example, name: string): DemoService {
  const s = example.services.get(name);
  if (!s) throw new Error(`examples/demo has no service ${name}`);
  return s;
}

/** An EndpointSlice endpoint for a pod, as the EndpointSlice controller writes it. */
export function sliceEndpoint(e: DemoEndpoint): Record<string, unknown> {
  return {
    addresses: [e.address], conditions: { ready: e.ready }, nodeName: e.node,
    targetRef: { kind: 'Pod', namespace: 'default', name: e.pod },
  };
}

const DUMP = { flowLevel: 2, lineWidth: -1 };

export interface SliceEdit {
  /** Lines of the file that went, and lines that came (one endpoint a line). */
  removed: string[];
  added: string[];
}

/**
 * Rewrites the EndpointSlice file's endpoints by renaming a new file over it, as editors save (so
 * sluice never reads half a file), and says which lines changed.
 */
export function rewriteSlice(file: string, endpoints: DemoEndpoint[], comment: string): SliceEdit {
  const doc = yaml.load(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const before = yaml.dump(doc, DUMP).split('\n');
  doc.endpoints = endpoints.map(sliceEndpoint);
  const text = yaml.dump(doc, DUMP);
  const tmp = join(dirname(file), `.${basename(file)}.tmp`);
  writeFileSync(tmp, `# ${comment}\n${text}`);
  renameSync(tmp, file);
  const after = text.split('\n');
  return { removed: before.filter((l) => !after.includes(l)), added: after.filter((l) => !before.includes(l)) };
}
