// The ruleset as plain data: what the planner produces, the templates print, and the diff compares.
// Every string in here is either a validated value (addresses, CIDRs, names from lib/model) or a
// name derived from them (lib/plan/names.ts); nft syntax lives only in templates/.

export type TableFamily = 'ip' | 'ip6';
export type L4 = 'tcp' | 'udp' | 'sctp';

/** The sets and maps every sluice table has; the skeleton in templates/table.eta declares them. */
export const GLOBAL_SETS = [
  'cluster-ips', 'nodeport-ips', 'service-ips', 'service-nodeports', 'no-endpoint-services',
  'no-endpoint-nodeports', 'firewall-ips', 'firewall-allow', 'hairpin', 'service-cidrs', 'pod-ranges',
] as const;
export type GlobalSetName = (typeof GLOBAL_SETS)[number];

/** Which of the shared sets are maps (nft flushes and deletes them as `map`). */
export const GLOBAL_MAPS: ReadonlySet<GlobalSetName> = new Set(['service-ips', 'service-nodeports', 'no-endpoint-services', 'no-endpoint-nodeports']);

/** The chains of the skeleton (templates/table.eta), base chains and the shared helpers. */
export const SKELETON_CHAINS = [
  'reject-chain', 'services', 'filter-prerouting', 'filter-output-pre-dnat', 'filter-prerouting-post-dnat',
  'filter-output-post-dnat', 'nat-prerouting', 'nat-output', 'nat-postrouting',
] as const;

/** One element: key parts joined by nft's concatenation, and for maps a value or a verdict. */
export interface Element {
  key: (string | number)[];
  value?: (string | number)[];
  /** Verdict maps: go to a chain, or the shared reject chain. */
  goto?: string;
}

/**
 * Per service port: random choice among endpoints, `numgen random mod N` to address . port; or a
 * Maglev table (names mgc/, mgl/), slot index 0..M-1 to address . port, looked up by `dnat-hash`.
 */
export interface EndpointMap { name: string; proto: L4; elements: Element[] }

/** Per endpoint, for ClientIP affinity: the clients that last used it, remembered for `timeout` seconds. */
export interface AffinitySet { name: string; timeout: number }

/** The rules of service chains, one kind each; templates/rule.eta prints them. */
export type Rule =
  | { op: 'mark-masquerade'; unlessFromPods?: boolean }
  | { op: 'goto-if-from-pods'; chain: string }
  | { op: 'goto-if-from-node'; chain: string }
  /** `counter`: the endpoint's named counter, hit by each new connection DNATed here (counters on). */
  | { op: 'dnat'; proto: L4; address: string; port: number; counter?: string }
  /** DNAT with chance 1/outOf: rule i of a cascade over n endpoints has outOf = n - i, so each endpoint gets 1/n. */
  | { op: 'dnat-chance'; proto: L4; address: string; port: number; outOf: number; counter?: string }
  /** Hits a named counter (the service port's new connections) and goes on: never changes the verdict. */
  | { op: 'count'; counter: string }
  | { op: 'dnat-random'; proto: L4; map: string; count: number }
  /**
   * Maglev: `jhash <F> saddr [. <proto> sport] mod size seed <seed>` is the slot, looked up in `map`
   * (an EndpointMap of `size` elements, slot to address . port). `hash` flow: source address and
   * port; source: source address only. The destination is not hashed: one flow lands on one
   * endpoint through every node and every front (node port, load-balancer or external IP).
   */
  | { op: 'dnat-hash'; proto: L4; map: string; size: number; hash: 'flow' | 'source'; seed: string }
  | { op: 'affinity-goto'; set: string; chain: string }
  | { op: 'affinity-update'; set: string }
  | { op: 'pick-chain'; chains: string[] }
  | { op: 'drop'; why: 'no-local-endpoints' };

export interface Chain {
  name: string;
  rules: Rule[];
  /** A comment line printed above the chain in a full script, for people (which topology hints picked its endpoints); never kernel state, never compared. */
  comment?: string;
}

/** How this table tells pod traffic from other traffic (KubeProxyConfiguration detectLocalMode). */
export type PodSourceMatch =
  | { kind: 'none' }
  | { kind: 'cidr'; cidr: string }
  | { kind: 'set' }
  | { kind: 'bridge'; iface: string }
  | { kind: 'prefix'; prefix: string };

/** The shared sets no one service port owns (every other shared set's elements belong to one service port each). */
export const TABLE_OWNED_SETS = ['cluster-ips', 'hairpin', 'nodeport-ips', 'service-cidrs', 'pod-ranges'] as const satisfies readonly GlobalSetName[];
export type TableOwnedSet = (typeof TABLE_OWNED_SETS)[number];

/**
 * What one service port puts in its family's table. A part is the same object from sync to sync while
 * its service port is unchanged, so a diff looks only at the parts that changed.
 */
export interface TablePart {
  elements: Partial<Record<GlobalSetName, Element[]>>;
  endpointMaps: EndpointMap[];
  affinitySets: AffinitySet[];
  counters: string[];
  /** Chains in the table's order: endpoint chains first, then service chains, then external chains. */
  endpointChains: Chain[];
  serviceChains: Chain[];
  externalChains: Chain[];
}

export interface FamilyRuleset {
  family: TableFamily;
  /** The masquerade mark as a hex literal, e.g. 0x00004000. */
  mark: string;
  podSource: PodSourceMatch;
  elements: Record<GlobalSetName, Element[]>;
  endpointMaps: EndpointMap[];
  affinitySets: AffinitySet[];
  /** Named counters (KubeProxyConfiguration `counters`, lib/plan/counters.ts): kernel state, kept by every sync while wanted. */
  counters?: string[];
  /** Service chains in an order where a chain comes after every chain it goes to. */
  chains: Chain[];
  /** As planned (lib/plan/plan.ts): the part of each service port, by a key naming it, and the table's own sets. */
  parts?: ReadonlyMap<string, TablePart>;
  ownElements?: Record<TableOwnedSet, Element[]>;
  /** Planned from another table by changing a few parts (lib/plan/live-plan.ts): what changed. */
  delta?: TableDelta;
}

/** How a table planned from another differs from it: a diff against that one needs nothing else. */
export interface TableDelta {
  /** The table it was planned from; held weakly, so no table keeps its predecessors alive. */
  base: WeakRef<FamilyRuleset>;
  /** The parts that changed, by key: as they were (absent: new) and as they are (absent: gone). */
  parts: ReadonlyMap<string, { before?: TablePart; after?: TablePart }>;
  /** Elements that left, and that joined, the table-owned sets. */
  ownRemoved: Partial<Record<TableOwnedSet, Element[]>>;
  ownAdded: Partial<Record<TableOwnedSet, Element[]>>;
}

export interface Ruleset {
  node: string;
  tables: FamilyRuleset[];
}
