// The packet `sluice trace` follows: a new connection's first packet, parsed from the command line
// through lib/model/ip.ts only, so every address that later reaches nft or `ip` is canonical.
import { parseIP } from '../model/ip.ts';
import { parseProtocol, type Protocol } from '../model/validate.ts';
import type { Family } from '../model/types.ts';

/** Where the packet enters the node: from one of its pods, from the node itself, or from outside. */
export type Via = 'pod' | 'node' | 'external';
export const VIAS: readonly Via[] = ['pod', 'node', 'external'];

export interface TracePacket {
  family: Family;
  proto: Protocol;
  saddr: string;
  daddr: string;
  dport: number;
  via: Via;
}

export class TraceInputError extends Error {}

const PORT = /^(0|[1-9][0-9]{0,4})$/;

/** `IP:PORT[/PROTO]`, IPv6 as `[IP]:PORT[/PROTO]`; the protocol defaults to tcp. */
export function parseDestination(text: string): { family: Family; daddr: string; dport: number; proto: Protocol } {
  const bad = (why: string): never => { throw new TraceInputError(`--to ${JSON.stringify(text).slice(0, 80)}: ${why} (expected IP:PORT[/PROTO], IPv6 as [IP]:PORT[/PROTO])`); };
  let rest = text;
  let proto: Protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = parseProtocol(rest.slice(slash + 1).toUpperCase());
    if (!p) bad(`unknown protocol ${JSON.stringify(rest.slice(slash + 1)).slice(0, 20)}`);
    proto = p!;
    rest = rest.slice(0, slash);
  }
  let host: string, port: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close < 0) bad('an IPv6 address needs brackets and a port');
    host = rest.slice(1, close);
    port = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) bad('no port');
    host = rest.slice(0, colon);
    port = rest.slice(colon + 1);
    if (host.includes(':')) bad('an IPv6 address needs brackets');
  }
  const ip = parseIP(host);
  if (!ip) bad(`${JSON.stringify(host).slice(0, 50)} is not an IP address`);
  if (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535) bad(`port ${JSON.stringify(port).slice(0, 10)} is not 1-65535`);
  return { family: ip!.family, daddr: ip!.address, dport: Number(port), proto };
}

export function parseVia(text: string | undefined): Via {
  const v = text ?? 'external';
  if (!(VIAS as readonly string[]).includes(v)) throw new TraceInputError(`--via ${JSON.stringify(v).slice(0, 20)}: expected pod, node or external`);
  return v as Via;
}

/** --src: an address of the destination's family. */
export function parseSource(text: string, family: Family): string {
  const ip = parseIP(text);
  if (!ip) throw new TraceInputError(`--src ${JSON.stringify(text).slice(0, 50)} is not an IP address`);
  if (ip.family !== family) throw new TraceInputError(`--src ${ip.address} is IPv${ip.family}, the destination IPv${family}`);
  return ip.address;
}
