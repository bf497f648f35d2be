// The ruleset as plain data: what the planner produces, the templates print, and the diff compares.
// Every string in here is either a validated value (addresses, CIDRs, names from lib/model) or a
// name derived from them (lib/plan/names.ts); nft syntax lives only in templates/.

export type TableFamily = 'ip' | 'ip6';
export type L4 = 'tcp' | 'udp' | 'sctp';

/** The sets and maps every sluice table has (lib/nft/skeleton.ts declares them). */
export const GLOBAL_SETS = [
  'cluster-ips', 'nodeport-ips', 'service-ips', 'service-nodeports', 'no-endpoint-services',
  'no-endpoint-nodeports', 'firewall-ips', 'firewall-allow', 'hairpin', 'service-cidrs', 'pod-ranges',
] as const;
export type GlobalSetName = (typeof GLOBAL_SETS)[number];

/** One element: key parts joined by nft's concatenation, and for maps a value or a verdict. */
export interface Element {
  key: (string | number)[];
  value?: (string | number)[];
  /** Verdict maps: go to a chain, or the shared reject chain. */
  goto?: string;
}

/** What a key or value of a shared set or map is made of: an address of the table's family, a protocol, a port, a 32-bit number. */
export type KeyPart = 'address' | 'proto' | 'port' | 'number';

/** The skeleton's set that names the full sync which made the table (lib/nft/skeleton.ts). */
export const TABLE_ID_SET = 'table-id';

/** A set or verdict map every table has (lib/nft/skeleton.ts): its key's parts, and whether it holds ranges. */
export interface SharedSet { family: TableFamily; name: GlobalSetName | typeof TABLE_ID_SET; key: KeyPart[]; interval?: boolean; verdicts?: boolean }

/**
 * Per service port: random choice among endpoints, `numgen random mod N` to address . port; or a
 * Maglev table (names mgc/, mgl/), slot index 0..M-1 to address . port, looked up by `dnat-hash`.
 */
export interface EndpointMap { family: TableFamily; name: string; proto: L4; elements: Element[] }

/** Per endpoint, for ClientIP affinity: the clients that last used it, remembered for `timeout` seconds. */
export interface AffinitySet { family: TableFamily; name: string; timeout: number }

/**
 * How a rule tells pod traffic from other traffic (detectLocalMode): a source CIDR, the source in the
 * `pod-ranges` set, or the interface a packet came in on.
 */
export type PodMatch =
  | { kind: 'cidr'; family: TableFamily; cidr: string }
  | { kind: 'set'; family: TableFamily }
  | { kind: 'bridge'; iface: string }
  | { kind: 'prefix'; prefix: string };

/**
 * One rule, carrying everything its text needs (templates/rule.eta prints it alone): the family of
 * its addresses, the masquerade mark, the pod match. Service chains use the first group; the
 * skeleton's fixed chains (lib/nft/skeleton.ts) the second.
 */
export type Rule =
  /** Sets the masquerade mark; with `unlessFrom`, only for traffic the pod match does not match. */
  | { op: 'mark-masquerade'; mark: string; unlessFrom?: PodMatch }
  | { op: 'goto-if-from-pods'; pods: PodMatch; chain: string }
  | { op: 'goto-if-from-node'; mark: string; chain: string }
  /** `counter`: the endpoint's named counter, hit by each new connection DNATed here (counters on). */
  | { op: 'dnat'; family: TableFamily; proto: L4; address: string; port: number; counter?: string }
  /** DNAT with chance 1/outOf: rule i of a cascade over n endpoints has outOf = n - i, so each endpoint gets 1/n. */
  | { op: 'dnat-chance'; family: TableFamily; proto: L4; address: string; port: number; outOf: number; counter?: string }
  /** Hits a named counter (the service port's new connections) and goes on: never changes the verdict. */
  | { op: 'count'; counter: string }
  | { op: 'dnat-random'; family: TableFamily; proto: L4; map: string; count: number }
  /**
   * Maglev: `jhash <F> saddr [. <proto> sport] mod size seed <seed>` is the slot, looked up in `map`
   * (an EndpointMap of `size` elements, slot to address . port). `hash` flow: source address and
   * port; source: source address only. The destination is not hashed: one flow lands on one
   * endpoint through every node and every front (node port, load-balancer or external IP).
   */
  | { op: 'dnat-hash'; family: TableFamily; proto: L4; map: string; size: number; hash: 'flow' | 'source'; seed: string }
  | { op: 'affinity-goto'; family: TableFamily; set: string; chain: string }
  | { op: 'affinity-update'; family: TableFamily; set: string }
  | { op: 'pick-chain'; chains: string[] }
  | { op: 'drop'; why: 'no-local-endpoints' }
  // The skeleton's rules:
  /** A verdict map looked up by destination address, protocol and port (`newOnly`: new connections only). */
  | { op: 'address-vmap'; family: TableFamily; map: 'service-ips' | 'no-endpoint-services'; newOnly?: boolean }
  /** A verdict map looked up by protocol and port, for addresses of `@nodeport-ips` that are the node's own and not loopback. */
  | { op: 'nodeport-vmap'; family: TableFamily; map: 'service-nodeports' | 'no-endpoint-nodeports'; newOnly?: boolean }
  /** Drops a new connection to a guarded load-balancer address from a source its ranges do not allow. */
  | { op: 'firewall'; family: TableFamily }
  /** A new connection to a cluster IP on a port no service defines: rejected. */
  | { op: 'reject-cluster-ips'; family: TableFamily }
  /** A new connection to an address of the service CIDRs that no Service owns: dropped. */
  | { op: 'drop-service-cidrs'; family: TableFamily }
  /** `tcp`: TCP gets a reset; otherwise the family's ICMP port unreachable. */
  | { op: 'reject'; tcp?: boolean }
  | { op: 'jump'; chain: string }
  | { op: 'masquerade-hairpin'; family: TableFamily }
  | { op: 'return-unless-marked'; mark: string }
  | { op: 'clear-mark'; mark: string }
  | { op: 'masquerade' };

/** A base chain's place in the kernel's hooks; its policy is always accept. */
export interface ChainHook { type: 'filter' | 'nat'; hook: 'prerouting' | 'output' | 'postrouting'; priority: string }

export interface Chain {
  name: string;
  rules: Rule[];
  /** Base chains only (the skeleton's). */
  hook?: ChainHook;
  /** A comment line printed above the chain in a full script, for people (which topology hints picked its endpoints); never kernel state, never compared. */
  comment?: string;
}

/** How this table tells pod traffic from other traffic (KubeProxyConfiguration detectLocalMode). */
export type PodSourceMatch = { kind: 'none' } | PodMatch;

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
