// From the command line's words to a trace: the packet (parsed, with a default source), the plan
// the sync would write for the same objects and configuration, and the walk over it.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import type { ProxyModel } from '../model/types.ts';
import type { Ruleset } from '../nft/ir.ts';
import { defaultSource } from './default-source.ts';
import { tracePacket, type Trace } from './evaluate.ts';
import { serviceLabels } from './labels.ts';
import { parseDestination, parseSource, parseVia, type TracePacket } from './packet.ts';

export interface TraceRequest { to: string; src?: string; via?: string }
export interface Planned { model: ProxyModel; ruleset: Ruleset; config: ProxyConfig }

export function packetFor(p: Planned, r: TraceRequest): TracePacket {
  const dest = parseDestination(r.to);
  const via = parseVia(r.via);
  const table = p.ruleset.tables.find((t) => t.family === (dest.family === 4 ? 'ip' : 'ip6'))!;
  const saddr = r.src !== undefined ? parseSource(r.src, dest.family) : defaultSource(via, dest.family, p.model, p.config, table);
  return { ...dest, saddr, via };
}

export function traceRequest(p: Planned, r: TraceRequest): Trace {
  return tracePacket(p.ruleset, packetFor(p, r), { nodeIPs: p.model.node.internalIPs, labels: serviceLabels(p.model) });
}
