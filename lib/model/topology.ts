// Topology-aware routing: which hints (EndpointSlice endpoints[].hints, written by the control plane
// for trafficDistribution and topology-mode) narrow a service port's cluster endpoints on this node,
// as kube-proxy decides it (pkg/proxy/topology.go topologyModeFromHints and availableForTopology):
//
// - PreferSameNode: every ready endpoint has node hints and one is hinted for this node;
// - else PreferSameZone: every ready endpoint has zone hints and one is hinted for this node's zone;
// - else none: every ready endpoint.
//
// The fallback happens when the mode is chosen, never after: a mode is only used when it leaves at
// least one ready endpoint. Node hints are always read: kube-proxy's PreferSameTrafficDistribution
// gate is GA and locked on since Kubernetes 1.35.
import type { Endpoint } from './types.ts';

/** The node label kube-proxy reads its zone from (v1.LabelTopologyZone). */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export type TopologyMode = 'PreferSameNode' | 'PreferSameZone';

/** Why hints present on the ready endpoints were not used; short, stable codes for metrics. */
export type TopologyFallbackReason =
  | 'no-zone-label'
  | 'no-endpoint-for-zone'
  | 'endpoint-without-zone-hint'
  | 'no-endpoint-for-node'
  | 'endpoint-without-node-hint';

export const TOPOLOGY_FALLBACK_REASONS: readonly TopologyFallbackReason[] = [
  'no-zone-label', 'no-endpoint-for-zone', 'endpoint-without-zone-hint', 'no-endpoint-for-node', 'endpoint-without-node-hint',
];

export interface TopologyFallback {
  reason: TopologyFallbackReason;
  /** For people: "no endpoint hinted for zone zone-b"; names only validated values. */
  message: string;
}

export interface TopologyChoice {
  /** The hints that picked the cluster endpoints; 'none': every ready one (or, with none ready, every serving-terminating one). */
  mode: TopologyMode | 'none';
  /**
   * Hints were there but not used, and why: with mode 'none', why neither kind was used; with
   * 'PreferSameZone', why the node hints were not. Absent when there was nothing to fall back from.
   */
  fallback?: TopologyFallback;
}

export const NO_TOPOLOGY: TopologyChoice = Object.freeze({ mode: 'none' });

/** This node as topology sees it: its name and its zone label (absent when missing or invalid). */
export interface NodeTopology {
  name: string;
  zone?: string;
}

/** The mode a service port's cluster endpoints use on this node, from the hints of its ready endpoints. */
export function chooseTopology(endpoints: readonly Endpoint[], node: NodeTopology): TopologyChoice {
  let anyReady = false;
  let allNodeHints = true;
  let someNodeHint = false;
  let forThisNode = false;
  let allZoneHints = true;
  let someZoneHint = false;
  let forThisZone = false;
  for (const e of endpoints) {
    if (!e.ready) continue;
    anyReady = true;
    if (!e.nodeHints?.length) allNodeHints = false;
    else {
      someNodeHint = true;
      if (e.nodeHints.includes(node.name)) forThisNode = true;
    }
    if (!e.zoneHints?.length) allZoneHints = false;
    else {
      someZoneHint = true;
      if (node.zone !== undefined && e.zoneHints.includes(node.zone)) forThisZone = true;
    }
  }
  // Hints of endpoints that are not ready count for nothing, as in kube-proxy.
  if (!anyReady) return NO_TOPOLOGY;
  if (allNodeHints && forThisNode) return { mode: 'PreferSameNode' };
  const nodeFallback: TopologyFallback | undefined = !someNodeHint ? undefined
    : allNodeHints ? { reason: 'no-endpoint-for-node', message: `no endpoint hinted for node ${node.name}` }
    : { reason: 'endpoint-without-node-hint', message: 'an endpoint has no node hint' };
  if (allZoneHints && forThisZone) return nodeFallback ? { mode: 'PreferSameZone', fallback: nodeFallback } : { mode: 'PreferSameZone' };
  // The zone hints' reason when there were any: they were the last to be tried.
  const zoneFallback: TopologyFallback | undefined = !someZoneHint ? undefined
    : !allZoneHints ? { reason: 'endpoint-without-zone-hint', message: 'an endpoint has no zone hint' }
    : node.zone === undefined ? { reason: 'no-zone-label', message: `node has no ${ZONE_LABEL} label` }
    : { reason: 'no-endpoint-for-zone', message: `no endpoint hinted for zone ${node.zone}` };
  const fallback = zoneFallback ?? nodeFallback;
  return fallback ? { mode: 'none', fallback } : NO_TOPOLOGY;
}

/** Whether an endpoint may take this node's cluster traffic under the chosen mode. */
export function availableForTopology(e: Endpoint, mode: TopologyChoice['mode'], node: NodeTopology): boolean {
  switch (mode) {
    case 'none': return true;
    case 'PreferSameNode': return e.nodeHints?.includes(node.name) ?? false;
    case 'PreferSameZone': return node.zone !== undefined && (e.zoneHints?.includes(node.zone) ?? false);
  }
}

/**
 * One line for people reading a ruleset: which hints picked a chain's endpoints, or why they were
 * not used. Undefined when hints played no part. Only validated names (node, zone) appear in it.
 */
export function describeTopology(t: TopologyChoice, node: NodeTopology, used: number, ready: number): string | undefined {
  const unusedNode = t.fallback && t.mode !== 'none' ? ` (node hints unused: ${t.fallback.message})` : '';
  switch (t.mode) {
    case 'PreferSameNode': return `topology PreferSameNode: node ${node.name}, ${used} of ${ready} ready endpoints`;
    case 'PreferSameZone': return `topology PreferSameZone${unusedNode}: zone ${node.zone}, ${used} of ${ready} ready endpoints`;
    case 'none': return t.fallback ? `topology hints unused: ${t.fallback.message}; all ${ready} ready endpoints` : undefined;
  }
}

const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A non-empty label value (apimachinery IsValidLabelValue): what a zone name must be, on a Node or in a hint. */
export function isLabelValue(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v);
}
