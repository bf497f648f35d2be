// `sluice trace`: the path a new connection's first packet takes through this node's sluice table,
// read off the ruleset the sync writes (the IR), hook by hook as the kernel runs them.
//   from a pod or outside: filter-prerouting, nat-prerouting, filter-prerouting-post-dnat, then
//                          nat-postrouting unless the packet is for the node itself
//   from the node itself:  filter-output-pre-dnat, nat-output, filter-output-post-dnat,
//                          nat-postrouting, and back in through prerouting's filter chains when it
//                          goes to one of the node's own addresses (loopback)
import { cidrContains, parseCIDR, parseIP } from '../model/ip.ts';
import type { FamilyRuleset, Ruleset } from '../nft/ir.ts';
import { describeServicePort, type ServiceLabels } from './labels.ts';
import { lookup } from './lookup.ts';
import type { TracePacket } from './packet.ts';
import type { PacketFacts } from './rule-ops.ts';
import { firewall, postDnatRejects, postrouting, services, type Skeleton } from './skeleton.ts';
import { enter, note, type Result, type WalkState, type Walker } from './walk.ts';

export type Verdict = 'dnat' | 'reject' | 'drop' | 'accept';

export interface TracePath {
  chance: number;
  verdict: Verdict;
  reason: string;
  /** Chains of the sluice table, in the order the packet visits them. */
  chains: string[];
  endpoint?: { address: string; port: number };
  masquerade: boolean;
  masqueradeReason: string;
  notes: string[];
}

export interface TraceEndpoint { address: string; port: number; chance: number; masquerade: boolean }

export interface Trace {
  packet: TracePacket;
  table: string;
  verdict: Verdict;
  reason: string;
  /** Chains every path visits, in order. */
  chain: string[];
  endpoints: TraceEndpoint[];
  /** Whether the endpoints see the node's address instead of the client's (every one of them). */
  masquerade: boolean;
  masqueradeReason: string;
  service?: string;
  affinity?: { timeoutSeconds: number; note: string };
  /** What the paths have in common, step by step. */
  notes: string[];
  paths: TracePath[];
}

export interface TraceOptions {
  /** The node's addresses (InternalIPs): what `fib ... type local` finds besides loopback. */
  nodeIPs: string[];
  labels: ServiceLabels;
}

function podFacts(t: FamilyRuleset, p: TracePacket): { fromPods: boolean; podDetection: string } {
  const ps = t.podSource;
  const saddr = parseIP(p.saddr)!;
  switch (ps.kind) {
    case 'none': return { fromPods: false, podDetection: 'no pod detection: detectLocalMode found no pod range' };
    case 'cidr': return { fromPods: cidrContains(parseCIDR(ps.cidr)!, saddr), podDetection: `${t.family} saddr ${ps.cidr}` };
    case 'set': return { fromPods: lookup(t.elements['pod-ranges'], p.saddr) !== undefined, podDetection: `${t.family} saddr @pod-ranges` };
    // Interface matches: a pod's packet arrives on the bridge or a prefixed veth; the node's own have no input interface.
    case 'bridge': return { fromPods: p.via === 'pod', podDetection: `iifname "${ps.iface}"` };
    case 'prefix': return { fromPods: p.via === 'pod', podDetection: `iifname "${ps.prefix}*"` };
    default: {
      const unknown: never = ps;
      throw new Error(`trace: unknown pod source ${JSON.stringify(unknown)}`);
    }
  }
}

interface Final { state: WalkState; stop?: Result['stop']; masquerade?: string }

/** Runs each path through one more stage; stopped paths stay as they are. */
function stage(paths: Final[], fn: (s: WalkState) => Result[]): Final[] {
  return paths.flatMap((p) => (p.stop ? [p] : fn(p.state).map((r) => ({ ...p, state: r.state, stop: r.stop }))));
}

export function tracePacket(ruleset: Ruleset, packet: TracePacket, o: TraceOptions): Trace {
  const family = packet.family === 4 ? 'ip' : 'ip6';
  const table = ruleset.tables.find((t) => t.family === family);
  if (!table) throw new Error(`no ${family} table in the ruleset`);
  const local = new Set([...o.nodeIPs, ...(packet.via === 'node' ? [packet.saddr] : [])].map((a) => parseIP(a)?.address));
  const isLocal = (a: string) => local.has(a) || a === '::1' || a.startsWith('127.');
  const facts: PacketFacts = { saddr: packet.saddr, ...podFacts(table, packet), fromNode: isLocal(packet.saddr) };
  const w: Walker = { table, proto: packet.proto, facts, labels: o.labels, chains: new Map(table.chains.map((c) => [c.name, c.rules])) };
  const sk: Skeleton = { isLocal, saddr: packet.saddr };
  const start: WalkState = { daddr: packet.daddr, dport: packet.dport, chance: 1, chains: [], notes: [] };

  const out = packet.via === 'node';
  const [fw, nat, post] = out
    ? ['filter-output-pre-dnat', 'nat-output', 'filter-output-post-dnat']
    : ['filter-prerouting', 'nat-prerouting', 'filter-prerouting-post-dnat'];
  let paths: Final[] = [{ state: start }];
  paths = stage(paths, (s) => [firewall(w, sk, enter(s, fw), fw)]);
  paths = stage(paths, (s) => services(w, sk, enter(note(enter(s, nat), `${nat}: jump services`), 'services')));
  paths = stage(paths, (s) => postDnatRejects(w, sk, enter(s, post), post));
  paths = paths.map((p) => {
    // A packet for the node itself goes to input, not postrouting, unless the node sent it.
    if (p.stop || (!out && isLocal(p.state.daddr))) return p;
    const r = postrouting(w, sk, enter(p.state, 'nat-postrouting'));
    return { ...p, state: r.state, masquerade: r.masquerade };
  });
  if (out) {
    // The node's packet to its own address loops back through lo: prerouting's filter chains see it again (NAT is bound already).
    paths = paths.flatMap((p) => {
      if (p.stop || !isLocal(p.state.daddr)) return [p];
      const back = note(p.state, `loops back through lo to ${p.state.daddr}: prerouting's filter chains see it again`);
      return stage(stage([{ ...p, state: back }], (s) => [firewall(w, sk, enter(s, 'filter-prerouting'), 'filter-prerouting')]),
        (s) => postDnatRejects(w, sk, enter(s, 'filter-prerouting-post-dnat'), 'filter-prerouting-post-dnat'));
    });
  }
  return summarize(packet, table, w, paths.map((p) => toPath(p, w, packet)));
}

function masqueradeReason(why: string | undefined, p: TracePacket, w: Walker, chains: string[], dnat: boolean): string {
  const serviceChain = chains.find((c) => /^(svc|ext|all)\//.test(c));
  switch (why) {
    case 'hairpin': return `hairpin: the endpoint ${p.saddr} is the source itself; masqueraded so that its reply comes back through the node`;
    case 'always': return serviceChain?.startsWith('svc/')
      ? 'masqueradeAll: every new connection to the cluster IP is masqueraded'
      : 'externalTrafficPolicy Cluster: traffic to a node port, load-balancer or external IP is masqueraded, so that replies come back through this node';
    case 'pod-detection': return `the source ${p.saddr} is not a pod (pod detection: ${w.facts.podDetection}): traffic to a cluster IP from outside the pod network is masqueraded`;
    case 'from-node': return 'from the node itself to an external address of an externalTrafficPolicy Local service: masqueraded, and any endpoint serves it';
    case undefined: break;
    default: return `masquerade mark set (${why})`;
  }
  if (!dnat) return 'not DNATed: nothing to masquerade';
  if (w.facts.fromPods) return `the source ${p.saddr} is a pod (${w.facts.podDetection}): endpoints see its own address`;
  if (serviceChain?.startsWith('ext/')) return 'externalTrafficPolicy Local: endpoints see the client\'s own address';
  if (w.table.podSource.kind === 'none') return 'no pod detection (detectLocalMode found no pod range) and no masqueradeAll: cluster IP traffic keeps its source';
  return 'no masquerade mark: the source address is kept';
}

function toPath(p: Final, w: Walker, packet: TracePacket): TracePath {
  const s = p.state;
  let verdict: Verdict, reason: string;
  if (p.stop) ({ verdict, reason } = p.stop);
  else if (s.dnat) {
    verdict = 'dnat';
    const sp = w.labels.byChain(s.chains.find((c) => /^(svc|ext|all)\//.test(c)) ?? '');
    reason = `DNAT to an endpoint${sp ? ` of ${describeServicePort(sp)}` : ''}`;
  } else if (s.chains.some((c) => /^(svc|ext|all|ep)\//.test(c))) {
    verdict = 'accept';
    reason = 'the service chain ended without a verdict: accept';
  } else {
    verdict = 'accept';
    reason = 'not a service address: accept';
  }
  return {
    chance: s.chance, verdict, reason, chains: s.chains, endpoint: s.dnat, masquerade: p.masquerade !== undefined,
    masqueradeReason: masqueradeReason(p.masquerade, packet, w, s.chains, s.dnat !== undefined), notes: s.notes,
  };
}

function summarize(packet: TracePacket, t: FamilyRuleset, w: Walker, paths: TracePath[]): Trace {
  // The verdict most of the chance goes to (the paths of one packet agree in every ruleset sluice writes).
  const byVerdict = new Map<Verdict, number>();
  for (const p of paths) byVerdict.set(p.verdict, (byVerdict.get(p.verdict) ?? 0) + p.chance);
  const verdict = [...byVerdict].sort((a, b) => b[1] - a[1])[0][0];
  const main = paths.filter((p) => p.verdict === verdict);
  const endpoints = new Map<string, TraceEndpoint>();
  for (const p of main) {
    if (!p.endpoint) continue;
    const key = `${p.endpoint.address} ${p.endpoint.port}`;
    const e = endpoints.get(key) ?? { ...p.endpoint, chance: 0, masquerade: p.masquerade };
    e.chance += p.chance;
    endpoints.set(key, e);
  }
  const firstDiff = main[0].notes.findIndex((n, i) => main.some((p) => p.notes[i] !== n));
  const chain = main[0].chains.filter((c) => main.every((p) => p.chains.includes(c)));
  const svcChain = main[0].chains.find((c) => /^(svc|ext)\//.test(c));
  const sp = svcChain ? w.labels.byChain(svcChain) : undefined;
  const affinityChains = main.some((p) => p.chains.some((c) => c.startsWith('ep/')));
  const masq = main.every((p) => p.masquerade) && main.length > 0 && verdict === 'dnat';
  const reasons = [...new Set(main.map((p) => p.masqueradeReason))];
  return {
    packet, table: `${t.family} sluice`, verdict, reason: main[0].reason, chain,
    endpoints: [...endpoints.values()],
    masquerade: masq,
    masqueradeReason: reasons.join('; '),
    service: sp ? describeServicePort(sp) : undefined,
    affinity: affinityChains && sp?.affinityTimeout !== undefined
      ? { timeoutSeconds: sp.affinityTimeout, note: `ClientIP affinity: once ${packet.saddr} has an endpoint, it keeps it for ${sp.affinityTimeout} s after its last connection; the chances are a first connection's` }
      : undefined,
    notes: firstDiff < 0 ? main[0].notes : main[0].notes.slice(0, firstDiff),
    paths,
  };
}
