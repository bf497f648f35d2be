// Walking chains: every way a packet can go (random choices branch, each with its chance), nft's
// jump/goto semantics (a goto'd chain that ends without a verdict returns to whoever jumped).
import type { FamilyRuleset, Rule } from '../nft/ir.ts';
import type { ServiceLabels } from './labels.ts';
import { applyRule, type PacketFacts } from './rule-ops.ts';

export type StopVerdict = 'drop' | 'reject';

/** One possible path of the packet so far. */
export interface WalkState {
  /** Destination after DNAT, if any. */
  daddr: string;
  dport: number;
  dnat?: { address: string; port: number };
  /** Why the masquerade mark was set, and in which chain; absent when unset. */
  mark?: { why: string; chain: string };
  chance: number;
  chains: string[];
  notes: string[];
}

/** A path at the end of a chain: stopped (drop, reject), accepted (dnat), or fallen through. */
export interface Result { state: WalkState; stop?: { verdict: StopVerdict; reason: string }; accepted?: boolean }

export interface Walker {
  table: FamilyRuleset;
  proto: string;
  facts: PacketFacts;
  labels: ServiceLabels;
  chains: Map<string, Rule[]>;
}

export const REJECT_CHAIN = 'reject-chain';

export function enter(s: WalkState, chain: string): WalkState {
  return { ...s, chains: [...s.chains, chain] };
}

export function note(s: WalkState, text: string): WalkState {
  return { ...s, notes: [...s.notes, text] };
}

/** reject-chain: TCP gets a reset, everything else ICMP port unreachable. */
export function rejectChain(w: Walker, s: WalkState, why: string): Result {
  const how = w.proto === 'tcp' ? 'TCP reset' : `ICMP${w.table.family === 'ip6' ? 'v6' : ''} port unreachable`;
  return { state: note(enter(s, REJECT_CHAIN), `${REJECT_CHAIN}: reject with ${how}`), stop: { verdict: 'reject', reason: `${why}: rejected with ${how}` } };
}

/** goto a chain from a vmap or a rule. */
export function gotoChain(w: Walker, chain: string, s: WalkState, why = 'rejected'): Result[] {
  if (chain === REJECT_CHAIN) return [rejectChain(w, s, why)];
  const rules = w.chains.get(chain);
  if (!rules) throw new Error(`trace: goto ${chain}, which the table does not have`);
  return runRules(w, chain, rules, 0, enter(s, chain));
}

function dropReason(w: Walker, chain: string): string {
  const sp = w.labels.byChain(chain);
  const name = sp ? `${sp.namespace}/${sp.name}` : chain;
  const policy = chain.startsWith('svc/') ? 'internalTrafficPolicy' : 'externalTrafficPolicy';
  return `no local endpoints: ${name} has ${policy} Local and no usable endpoint on this node`;
}

function runRules(w: Walker, chain: string, rules: Rule[], i: number, s: WalkState): Result[] {
  if (i >= rules.length) return [{ state: s }];
  const out: Result[] = [];
  for (const b of applyRule(rules[i], w.facts, w.table)) {
    if (b.chance <= 0) continue;
    let next: WalkState = { ...s, chance: s.chance * b.chance };
    if (b.note) next = note(next, `${chain}: ${b.note}`);
    const e = b.effect;
    switch (e.kind) {
      case 'continue':
        if (e.mark && !next.mark) next = { ...next, mark: { why: e.mark, chain } };
        out.push(...runRules(w, chain, rules, i + 1, next));
        break;
      case 'goto':
        if (e.mark && !next.mark) next = { ...next, mark: { why: e.mark, chain } };
        out.push(...gotoChain(w, e.chain, next));
        break;
      case 'dnat':
        out.push({ state: { ...next, daddr: e.address, dport: e.port, dnat: { address: e.address, port: e.port } }, accepted: true });
        break;
      case 'drop':
        out.push({ state: next, stop: { verdict: 'drop', reason: dropReason(w, chain) } });
        break;
      default: {
        const unknown: never = e;
        throw new Error(`trace: unknown effect ${JSON.stringify(unknown)}`);
      }
    }
  }
  return out;
}
