// Reading `nft monitor trace`: the events of each traced packet, grouped by the packet's source
// address and port, into the chains of sluice's table it visited, its verdict, DNAT target and
// whether it was masqueraded.
import type { Verdict } from './evaluate.ts';

export interface KernelPath {
  chains: string[];
  verdict: Verdict;
  target?: { address: string; port: number };
  masquerade: boolean;
  /** The sluice rules that matched, as nft printed them. */
  rules: string[];
}

interface TraceEvent { id: string; family: string; table: string; chain: string; rest: string }

const EVENT = /^trace id ([0-9a-f]+) (ip|ip6|inet) (\S+) (\S+) (.*)$/;

export function parseTraceEvents(text: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    const m = EVENT.exec(line.trim());
    if (m) out.push({ id: m[1], family: m[2], table: m[3], chain: m[4], rest: m[5] });
  }
  return out;
}

function packetFields(rest: string): { saddr?: string; daddr?: string; sport?: number; dport?: number } {
  const saddr = /\bip6? saddr ([0-9a-f:.]+)/.exec(rest)?.[1];
  const daddr = /\bip6? daddr ([0-9a-f:.]+)/.exec(rest)?.[1];
  const sport = /\b(?:tcp|udp|sctp) sport (\d+)/.exec(rest)?.[1];
  const dport = /\b(?:tcp|udp|sctp) dport (\d+)/.exec(rest)?.[1];
  return { saddr, daddr, sport: sport ? Number(sport) : undefined, dport: dport ? Number(dport) : undefined };
}

/** Events by packet: `saddr sport` of each trace id's first packet line, ids in order of appearance. */
export function eventsByPacket(events: TraceEvent[]): Map<string, TraceEvent[]> {
  const keyOf = new Map<string, string>();
  const out = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (!keyOf.has(e.id)) {
      if (!e.rest.startsWith('packet:')) continue;
      const f = packetFields(e.rest);
      if (!f.saddr || f.sport === undefined) continue;
      keyOf.set(e.id, `${f.saddr} ${f.sport}`);
    }
    const key = keyOf.get(e.id)!;
    (out.get(key) ?? out.set(key, []).get(key)!).push(e);
  }
  return out;
}

export function kernelPath(events: TraceEvent[], family: 'ip' | 'ip6'): KernelPath {
  const ours = events.filter((e) => e.family === family && e.table === 'sluice');
  const chains: string[] = [];
  const visit = (c: string) => { if (!chains.includes(c)) chains.push(c); };
  const rules: string[] = [];
  let verdict: Verdict = 'accept';
  let dnatAt = -1;
  let target: KernelPath['target'];
  let masquerade = false;
  for (const [i, e] of ours.entries()) {
    visit(e.chain);
    if (e.rest.startsWith('packet:')) {
      if (dnatAt >= 0 && !target) {
        const f = packetFields(e.rest);
        if (f.daddr && f.dport !== undefined) target = { address: f.daddr, port: f.dport };
      }
      continue;
    }
    if (!e.rest.startsWith('rule ')) continue;
    rules.push(`${e.chain}: ${e.rest}`);
    const jump = /\(verdict (?:jump|goto) (\S+)\)/.exec(e.rest);
    if (jump) visit(jump[1]);
    if (e.rest.endsWith('(verdict drop)')) {
      verdict = / reject\b/.test(e.rest) ? 'reject' : 'drop';
      break;
    }
    if (/ dnat /.test(e.rest) && e.rest.endsWith('(verdict accept)')) { verdict = 'dnat'; dnatAt = i; }
    if (e.chain === 'nat-postrouting' && / masquerade/.test(e.rest) && e.rest.endsWith('(verdict accept)')) masquerade = true;
  }
  return { chains, verdict, target, masquerade, rules };
}
