// The Kubernetes objects sluice reads, reduced to the fields the proxy uses. Everything here is
// untrusted input as it came from the API server or a file: lib/model validates it before use.

export type ObjectKind = 'Service' | 'EndpointSlice' | 'Endpoints' | 'Node' | 'ServiceCIDR';
export const OBJECT_KINDS: readonly ObjectKind[] = ['Service', 'EndpointSlice', 'Endpoints', 'Node', 'ServiceCIDR'];

export interface ObjectMeta {
  name?: unknown;
  namespace?: unknown;
  labels?: Record<string, unknown>;
  creationTimestamp?: unknown;
  deletionTimestamp?: unknown;
  resourceVersion?: unknown;
  /** Only endpoints.kubernetes.io/last-change-trigger-time is kept, for the network programming latency; on Services, sluice.dev/lb-algorithm. */
  annotations?: Record<string, unknown>;
}

/** A Kubernetes object as sluice keeps it: kind, metadata and the spec/status parts it reads. */
export interface KubeObject {
  apiVersion?: unknown;
  kind: ObjectKind;
  metadata: ObjectMeta;
  spec?: any;
  status?: any;
  // EndpointSlice
  addressType?: unknown;
  endpoints?: unknown;
  ports?: unknown;
  // Endpoints (v1)
  subsets?: unknown;
}

/** When the change that led to an EndpointSlice's latest version happened (set by the control plane). */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
/** The label that names an EndpointSlice's Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** A Service's choice of how to pick endpoints (lib/model/service.ts reads it). */
export const LB_ALGORITHM_ANNOTATION = 'sluice.dev/lb-algorithm';

/** namespace/name, or name for cluster-scoped objects: the key objects are stored under. */
export function objectKey(obj: { metadata?: ObjectMeta }): string {
  const ns = typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : '';
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
  return ns ? `${ns}/${name}` : name;
}

/** The fields of a Service's spec lib/model reads (service.ts); the selector and the rest stay behind. */
const SERVICE_SPEC_FIELDS = [
  'type', 'clusterIP', 'clusterIPs', 'ports', 'externalIPs', 'externalTrafficPolicy', 'internalTrafficPolicy',
  'healthCheckNodePort', 'loadBalancerSourceRanges', 'sessionAffinity', 'sessionAffinityConfig',
] as const;
/** The fields of an EndpointSlice's endpoint lib/model reads (endpoint-slices.ts): not targetRef, hostname, zone. */
const ENDPOINT_FIELDS = ['addresses', 'conditions', 'nodeName', 'hints'] as const;

/**
 * The fields of an object that has them; anything else (a spec that is a string, say) as it is, so
 * that the model still sees, and reports, what is wrong with it.
 */
function pick(v: unknown, fields: readonly string[]): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const f of fields) if ((v as Record<string, unknown>)[f] !== undefined) out[f] = (v as Record<string, unknown>)[f];
  return out;
}

/**
 * Keeps only what the proxy reads (drops managedFields, annotations, ownerReferences, a Service's
 * selector, an endpoint's targetRef and the like), so memory follows the size of the ruleset rather
 * than the size of the objects. test/objects/slim.test.ts traces what lib/model reads of objects
 * with every field set, and fails when something it reads is not kept here.
 */
export function slimObject(kind: ObjectKind, raw: any): KubeObject {
  const m = raw?.metadata ?? {};
  const metadata: ObjectMeta = {
    name: m.name,
    namespace: m.namespace,
    labels: m.labels,
    creationTimestamp: m.creationTimestamp instanceof Date ? m.creationTimestamp.toISOString() : m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp instanceof Date ? m.deletionTimestamp.toISOString() : m.deletionTimestamp,
    resourceVersion: m.resourceVersion,
  };
  switch (kind) {
    case 'Service': {
      const lb = m.annotations?.[LB_ALGORITHM_ANNOTATION];
      if (lb !== undefined) metadata.annotations = { [LB_ALGORITHM_ANNOTATION]: lb };
      return { kind, metadata, spec: pick(raw.spec, SERVICE_SPEC_FIELDS), status: raw.status ? { loadBalancer: raw.status.loadBalancer } : undefined };
    }
    case 'EndpointSlice': {
      const trigger = m.annotations?.[TRIGGER_TIME_ANNOTATION];
      if (trigger !== undefined) metadata.annotations = { [TRIGGER_TIME_ANNOTATION]: trigger };
      const endpoints = Array.isArray(raw.endpoints) ? raw.endpoints.map((e: unknown) => pick(e, ENDPOINT_FIELDS)) : raw.endpoints;
      return { kind, metadata, addressType: raw.addressType, endpoints, ports: raw.ports };
    }
    case 'Endpoints':
      return { kind, metadata, subsets: raw.subsets };
    case 'Node':
      return {
        kind, metadata,
        spec: raw.spec ? { podCIDRs: raw.spec.podCIDRs, podCIDR: raw.spec.podCIDR, taints: raw.spec.taints } : undefined,
        status: raw.status ? { addresses: raw.status.addresses } : undefined,
      };
    case 'ServiceCIDR':
      // Only spec.cidrs: kube-proxy uses them whatever the status conditions say.
      return { kind, metadata, spec: raw.spec ? { cidrs: raw.spec.cidrs } : undefined };
  }
}

/** Receives objects from a source (manifest folder or API server). */
export interface ObjectSink {
  /** An object was added or changed. */
  upsert(obj: KubeObject): void;
  /** An object is gone. */
  remove(kind: ObjectKind, key: string): void;
  /** Everything of this kind has been listed once (the initial state is complete). */
  synced(kind: ObjectKind): void;
}

/** Where objects come from: watched manifests or a cluster. */
export interface ObjectSource {
  start(sink: ObjectSink): Promise<void>;
  stop(): Promise<void>;
}
