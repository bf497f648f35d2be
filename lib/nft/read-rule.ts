// A rule as nft lists it (`nft -j`: a list of expressions) read back into the Rule op that prints
// it (templates/rule.eta), so that the kernel's chains compare with the planned ones as objects.
// Each shape sluice writes is matched whole; anything else reads as undefined: a rule sluice did not
// write, which the diff then rewrites.
import { sameValue } from '../objects/same.ts';
import type { L4, PodMatch, Rule, TableFamily } from './ir.ts';

type Json = any;
type Exprs = Json[];

const meta = (key: string) => ({ meta: { key } });
const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });
const isL4 = (p: unknown): p is L4 => p === 'tcp' || p === 'udp' || p === 'sctp';
const hexMark = (n: unknown) => (typeof n === 'number' ? '0x' + (n >>> 0).toString(16).padStart(8, '0') : undefined);
const target = (e: Json): string | undefined => (typeof e?.goto?.target === 'string' ? e.goto.target : undefined);
const setName = (r: unknown): string | undefined => (typeof r === 'string' && r.startsWith('@') ? r.slice(1) : undefined);

/** `match` with this operator and left side: its right side (undefined when the expression is not that match). */
function matchRight(e: Json, op: string, left: unknown): Json {
  return e?.match && e.match.op === op && sameValue(e.match.left, left) ? e.match.right : undefined;
}

/** `meta mark set meta mark | M` (or `^ M`, with op '^'): the mark. */
function markSet(e: Json, op: '|' | '^'): string | undefined {
  const m = e?.mangle;
  if (!m || !sameValue(m.key, meta('mark'))) return undefined;
  const v = m.value?.[op];
  return Array.isArray(v) && sameValue(v[0], meta('mark')) ? hexMark(v[1]) : undefined;
}

const cidrOf = (r: Json): string | undefined => (r?.prefix ? `${r.prefix.addr}/${r.prefix.len}` : typeof r === 'string' && !r.startsWith('@') ? r : undefined);

/** The pod match of a `match` expression, with `==` or `!=`. */
function podMatch(e: Json, op: '==' | '!=', F: TableFamily): PodMatch | undefined {
  const bySource = matchRight(e, op, payload(F, 'saddr'));
  if (bySource === '@pod-ranges') return { kind: 'set', family: F };
  const cidr = bySource === undefined ? undefined : cidrOf(bySource);
  if (cidr !== undefined) return { kind: 'cidr', family: F, cidr };
  const iface = matchRight(e, op, meta('iifname'));
  if (typeof iface !== 'string') return undefined;
  // A trailing `*` is nft's wildcard (a literal one is escaped: `\\*`, which sluice never writes).
  if (iface.endsWith('\\*')) return undefined;
  return iface.endsWith('*') ? { kind: 'prefix', prefix: iface.slice(0, -1) } : { kind: 'bridge', iface };
}

/** `[counter name "x"] meta l4proto P dnat [F] to A:PORT`, from the counter on. */
function dnatTo(x: Exprs, F: TableFamily): { proto: L4; address: string; port: number; counter?: string } | undefined {
  let i = 0;
  const counter = typeof x[0]?.counter === 'string' ? x[i++].counter as string : undefined;
  const proto = matchRight(x[i], '==', meta('l4proto'));
  const d = x[i + 1]?.dnat;
  if (x.length !== i + 2 || !isL4(proto) || !d || typeof d.addr !== 'string' || typeof d.port !== 'number' || (d.family !== undefined && d.family !== F)) return undefined;
  return { proto, address: d.addr, port: d.port, ...(counter !== undefined ? { counter } : {}) };
}

const numgen = (key: Json): number | undefined => (key?.numgen?.mode === 'random' && key.numgen.offset === 0 ? key.numgen.mod : undefined);

/** A service chain's rule (lib/plan/service-port.ts, counters.ts). */
function serviceRule(x: Exprs, F: TableFamily): Rule | undefined {
  const [a, b, c] = x;
  if (x.length === 1) {
    const mark = markSet(a, '|');
    if (mark) return { op: 'mark-masquerade', mark };
    if (typeof a?.counter === 'string') return { op: 'count', counter: a.counter };
    if (a?.set?.op === 'update' && sameValue(a.set.elem, payload(F, 'saddr')) && setName(a.set.set)) return { op: 'affinity-update', family: F, set: setName(a.set.set)! };
    if (a && 'drop' in a && a.drop === null) return { op: 'drop', why: 'no-local-endpoints' };
    const v = a?.vmap;
    const mod = numgen(v?.key);
    if (mod !== undefined && Array.isArray(v.data?.set)) {
      const chains = (v.data.set as [number, Json][]).map(([i, g], at) => (i === at ? target(g) : undefined));
      if (chains.length === mod && chains.every((ch) => ch !== undefined)) return { op: 'pick-chain', chains: chains as string[] };
    }
    const hashed = hashDnat(a, F, undefined);
    if (hashed) return hashed;
  }
  if (x.length === 2) {
    const pods = podMatch(a, '!=', F);
    const mark = markSet(b, '|');
    if (pods && mark) return { op: 'mark-masquerade', mark, unlessFrom: pods };
    const from = podMatch(a, '==', F);
    if (from && target(b)) return { op: 'goto-if-from-pods', pods: from, chain: target(b)! };
    const aff = setName(matchRight(a, '==', payload(F, 'saddr')));
    if (aff && target(b)) return { op: 'affinity-goto', family: F, set: aff, chain: target(b)! };
    const proto = matchRight(a, '==', meta('l4proto'));
    if (isL4(proto)) {
      const m = b?.dnat?.family === F ? b.dnat.addr?.map : undefined;
      const count = numgen(m?.key);
      if (count !== undefined && setName(m.data)) return { op: 'dnat-random', family: F, proto, map: setName(m.data)!, count };
      const hashed = hashDnat(b, F, proto);
      if (hashed) return hashed;
    }
  }
  if (x.length === 3 && sameValue(matchRight(a, '==', { fib: { result: 'type', flags: ['saddr'] } }), 'local')) {
    const mark = markSet(b, '|');
    if (mark && target(c)) return { op: 'goto-if-from-node', mark, chain: target(c)! };
  }
  const outOf = numgen(a?.match?.op === '==' && a.match.right === 0 ? a.match.left : undefined);
  if (outOf !== undefined) {
    const d = dnatTo(x.slice(1), F);
    if (d) return { op: 'dnat-chance', family: F, outOf, ...d };
  }
  const d = dnatTo(x, F);
  return d ? { op: 'dnat', family: F, ...d } : undefined;
}

/**
 * Maglev: `dnat F to jhash F saddr [. P sport] mod N seed S map @m`. With the source port hashed, nft
 * drops the `meta l4proto` match (the port's protocol implies it) and the protocol is read from it.
 */
function hashDnat(e: Json, F: TableFamily, proto: L4 | undefined): Rule | undefined {
  const m = e?.dnat?.family === F ? e.dnat.addr?.map : undefined;
  const j = m?.key?.jhash;
  const map = setName(m?.data);
  if (!j || !map || typeof j.mod !== 'number' || typeof j.seed !== 'number') return undefined;
  const seed = '0x' + (j.seed >>> 0).toString(16);
  if (sameValue(j.expr, payload(F, 'saddr'))) return proto ? { op: 'dnat-hash', family: F, proto, map, size: j.mod, hash: 'source', seed } : undefined;
  const parts = j.expr?.concat;
  const sportOf = parts?.[1]?.payload;
  if (proto === undefined && parts?.length === 2 && sameValue(parts[0], payload(F, 'saddr')) && sportOf?.field === 'sport' && isL4(sportOf.protocol)) {
    return { op: 'dnat-hash', family: F, proto: sportOf.protocol, map, size: j.mod, hash: 'flow', seed };
  }
  return undefined;
}

const daddrProtoPort = (F: TableFamily) => ({ concat: [payload(F, 'daddr'), meta('l4proto'), payload('th', 'dport')] });
const protoPort = { concat: [meta('l4proto'), payload('th', 'dport')] };
const LOOPBACK = { ip: { prefix: { addr: '127.0.0.0', len: 8 } }, ip6: '::1' };

/** A rule of the skeleton's chains (lib/nft/skeleton.ts). */
function skeletonRule(x: Exprs, F: TableFamily): Rule | undefined {
  const newOnly = sameValue(matchRight(x[0], 'in', { ct: { key: 'state' } }), 'new');
  const rest = newOnly ? x.slice(1) : x;
  const [a, b, c, d] = rest;
  const flag = newOnly ? { newOnly: true } : {};
  if (rest.length === 1 && sameValue(a?.vmap?.key, daddrProtoPort(F))) {
    const map = setName(a.vmap.data);
    if (map === 'service-ips' || map === 'no-endpoint-services') return { op: 'address-vmap', family: F, map, ...flag };
  }
  if (rest.length === 4 && matchRight(a, '==', payload(F, 'daddr')) === '@nodeport-ips' && sameValue(matchRight(b, '!=', payload(F, 'daddr')), LOOPBACK[F])
    && sameValue(matchRight(c, '==', { fib: { result: 'type', flags: ['daddr'] } }), 'local') && sameValue(d?.vmap?.key, protoPort)) {
    const map = setName(d.vmap.data);
    if (map === 'service-nodeports' || map === 'no-endpoint-nodeports') return { op: 'nodeport-vmap', family: F, map, ...flag };
  }
  if (newOnly && rest.length === 3 && matchRight(a, '==', daddrProtoPort(F)) === '@firewall-ips'
    && matchRight(b, '!=', { concat: [...daddrProtoPort(F).concat, payload(F, 'saddr')] }) === '@firewall-allow' && c && 'drop' in c) {
    return { op: 'firewall', family: F };
  }
  if (newOnly && rest.length === 2) {
    const set = matchRight(a, '==', payload(F, 'daddr'));
    if (set === '@cluster-ips' && b?.reject?.expr === 'port-unreachable') return { op: 'reject-cluster-ips', family: F };
    if (set === '@service-cidrs' && b && 'drop' in b) return { op: 'drop-service-cidrs', family: F };
  }
  if (newOnly) return undefined;
  if (x.length === 1) {
    if (x[0]?.reject?.type === 'tcp reset') return { op: 'reject', tcp: true };
    if (x[0]?.reject?.expr === 'port-unreachable') return { op: 'reject' };
    if (typeof x[0]?.jump?.target === 'string') return { op: 'jump', chain: x[0].jump.target };
    if (x[0]?.masquerade?.flags === 'fully-random') return { op: 'masquerade' };
    const mark = markSet(x[0], '^');
    if (mark) return { op: 'clear-mark', mark };
  }
  if (x.length === 2 && x[1] && 'return' in x[1]) {
    const m = x[0]?.match;
    const and = m?.left?.['&'];
    if (m?.op === '==' && m.right === 0 && Array.isArray(and) && sameValue(and[0], meta('mark'))) return { op: 'return-unless-marked', mark: hexMark(and[1])! };
  }
  if (x.length === 3 && sameValue(matchRight(x[0], 'in', { ct: { key: 'status' } }), 'dnat')
    && matchRight(x[1], '==', { concat: [payload(F, 'saddr'), payload(F, 'daddr')] }) === '@hairpin' && x[2]?.masquerade?.flags === 'fully-random') {
    return { op: 'masquerade-hairpin', family: F };
  }
  return undefined;
}

/** The Rule op a listed rule's expressions print, or undefined when sluice writes no such rule. */
export function readRule(expr: Exprs, family: TableFamily): Rule | undefined {
  if (!Array.isArray(expr)) return undefined;
  return serviceRule(expr, family) ?? skeletonRule(expr, family);
}
