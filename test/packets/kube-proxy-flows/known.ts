// Where sluice's packets differ from what kube-proxy's packet-flow tests expect: each entry names
// kube-proxy's test (group title) and flow, and says how sluice differs. These flows run in
// known-differences.test.ts as test.failing and are left out of the regular files.
import type { FlowGroup } from './flows.ts';

export interface KnownDifference {
  group: string;
  flow: string;
  why: string;
}

export const KNOWN_DIFFERENCES: KnownDifference[] = [];

const isKnown = (g: FlowGroup, name: string) => KNOWN_DIFFERENCES.some((k) => k.group === g.title && k.flow === name);

export function withoutKnown(groups: FlowGroup[]): FlowGroup[] {
  return groups.map((g) => ({ ...g, flows: g.flows.filter((f) => !isKnown(g, f.name)) })).filter((g) => g.flows.length > 0);
}

export function onlyKnown(groups: FlowGroup[]): FlowGroup[] {
  return groups.map((g) => ({ ...g, flows: g.flows.filter((f) => isKnown(g, f.name)) })).filter((g) => g.flows.length > 0);
}
