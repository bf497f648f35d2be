// What each service-chain Rule op does to a new connection's first packet, as templates/rule.eta
// prints it: the one place the trace knows rule semantics. A new op in lib/nft/ir.ts fails to
// compile here (the switch is exhaustive), and at run time throws rather than guessing.
import type { FamilyRuleset, Rule } from '../nft/ir.ts';

/** What the packet's walk needs to know about itself and the node. */
export interface PacketFacts {
  saddr: string;
  /** Whether the table's pod detection (podSource) matches the packet, and how it tells. */
  fromPods: boolean;
  podDetection: string;
  /** `fib saddr type local`: the source is one of the node's own addresses. */
  fromNode: boolean;
}

export type Effect =
  | { kind: 'continue'; mark?: string }
  | { kind: 'goto'; chain: string; mark?: string }
  | { kind: 'dnat'; address: string; port: number }
  | { kind: 'drop'; reason: string };

/** One way the rule can go, with its chance (random numbers) and what it did, in words. */
export interface Branch { chance: number; effect: Effect; note?: string }

const target = (address: string, port: number) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

/** A named counter on a DNAT rule counts the connection it DNATs; the verdict is the DNAT's. */
const counted = (counter: string | undefined) => (counter ? `counted in ${counter}, ` : '');

export function applyRule(rule: Rule, facts: PacketFacts, table: FamilyRuleset): Branch[] {
  switch (rule.op) {
    case 'mark-masquerade':
      if (rule.unlessFrom && facts.fromPods) {
        return [{ chance: 1, effect: { kind: 'continue' }, note: `no masquerade mark: the source is a pod (${facts.podDetection})` }];
      }
      return [{ chance: 1, effect: { kind: 'continue', mark: rule.unlessFrom ? 'pod-detection' : 'always' }, note: 'masquerade mark set' }];
    case 'goto-if-from-pods':
      return facts.fromPods
        ? [{ chance: 1, effect: { kind: 'goto', chain: rule.chain }, note: `from a pod (${facts.podDetection}): goto ${rule.chain}` }]
        : [{ chance: 1, effect: { kind: 'continue' }, note: `not from a pod (${facts.podDetection})` }];
    case 'goto-if-from-node':
      return facts.fromNode
        ? [{ chance: 1, effect: { kind: 'goto', chain: rule.chain, mark: 'from-node' }, note: `from the node itself (fib saddr type local): masquerade mark set, goto ${rule.chain}` }]
        : [{ chance: 1, effect: { kind: 'continue' }, note: 'not from the node itself' }];
    case 'dnat':
      return [{ chance: 1, effect: { kind: 'dnat', address: rule.address, port: rule.port }, note: `${counted(rule.counter)}dnat to ${target(rule.address, rule.port)}` }];
    case 'dnat-chance':
      // numgen random mod outOf == 0: this rule draws its own number, 1 in outOf takes it (and only then hits its counter).
      return [
        { chance: 1 / rule.outOf, effect: { kind: 'dnat', address: rule.address, port: rule.port }, note: `1 in ${rule.outOf}: ${counted(rule.counter)}dnat to ${target(rule.address, rule.port)}` },
        { chance: 1 - 1 / rule.outOf, effect: { kind: 'continue' } },
      ];
    case 'dnat-random': {
      const map = table.endpointMaps.find((m) => m.name === rule.map);
      if (!map) throw new Error(`trace: rule reads endpoint map ${rule.map}, which the table does not have`);
      const branches: Branch[] = [];
      for (let i = 0; i < rule.count; i++) {
        const el = map.elements.find((e) => e.key[0] === i);
        // An index the map lacks makes the dnat expression fail: the rule does not match.
        branches.push(el?.value
          ? { chance: 1 / rule.count, effect: { kind: 'dnat', address: String(el.value[0]), port: Number(el.value[1]) }, note: `numgen ${i} of ${rule.count} in @${rule.map}: dnat to ${target(String(el.value[0]), Number(el.value[1]))}` }
          : { chance: 1 / rule.count, effect: { kind: 'continue' }, note: `numgen ${i} of ${rule.count}: no element in @${rule.map}` });
      }
      return branches;
    }
    case 'dnat-hash': {
      // Maglev: the slot is jhash(saddr[ . sport]) mod size, seeded alike on every node. The trace does
      // not know the source port, so each endpoint's chance is its share of the map's slots.
      const map = table.endpointMaps.find((m) => m.name === rule.map);
      if (!map) throw new Error(`trace: rule reads Maglev map ${rule.map}, which the table does not have`);
      const slots = new Map<string, { address: string; port: number; n: number }>();
      for (const el of map.elements) {
        if (!el.value) continue;
        const k = `${el.value[0]} ${el.value[1]}`;
        const s = slots.get(k) ?? slots.set(k, { address: String(el.value[0]), port: Number(el.value[1]), n: 0 }).get(k)!;
        s.n++;
      }
      const hashed = rule.hash === 'flow' ? `saddr . ${rule.proto} sport` : 'saddr';
      const branches: Branch[] = [...slots.values()].map((s) => ({
        chance: s.n / rule.size, effect: { kind: 'dnat', address: s.address, port: s.port },
        note: `jhash ${hashed} into ${s.n} of ${rule.size} slots of @${rule.map}: dnat to ${target(s.address, s.port)}`,
      }));
      const missing = rule.size - map.elements.filter((e) => e.value).length;
      if (missing > 0) branches.push({ chance: missing / rule.size, effect: { kind: 'continue' }, note: `jhash into ${missing} slots without an element in @${rule.map}` });
      return branches;
    }
    case 'affinity-goto':
      // The set holds clients seen within the affinity timeout; a new client is in none of them.
      return [{ chance: 1, effect: { kind: 'continue' }, note: `affinity: ${facts.saddr} is not in @${rule.set} yet (a first connection)` }];
    case 'affinity-update':
      return [{ chance: 1, effect: { kind: 'continue' }, note: `affinity: ${facts.saddr} remembered in @${rule.set}` }];
    case 'pick-chain':
      return rule.chains.map((chain) => ({ chance: 1 / rule.chains.length, effect: { kind: 'goto', chain }, note: `1 in ${rule.chains.length}: goto ${chain}` }));
    case 'count':
      // A named counter counts the packet and changes nothing about it.
      return [{ chance: 1, effect: { kind: 'continue' }, note: `counted in ${rule.counter}` }];
    case 'drop':
      return [{ chance: 1, effect: { kind: 'drop', reason: rule.why }, note: 'drop: no local endpoints' }];
    case 'address-vmap': case 'nodeport-vmap': case 'firewall': case 'reject-cluster-ips': case 'drop-service-cidrs':
    case 'reject': case 'jump': case 'masquerade-hairpin': case 'return-unless-marked': case 'clear-mark': case 'masquerade':
      // The skeleton's chains are walked by lib/trace/skeleton.ts, which knows what each one is for.
      throw new Error(`trace: ${rule.op} is a rule of the skeleton's chains, not of a service chain`);
    default: {
      const unknown: never = rule;
      throw new Error(`trace: no semantics for rule op ${JSON.stringify((unknown as { op: unknown }).op)}`);
    }
  }
}
