// Reading UDP conntrack entries: `conntrack -L -o xml` prints one <flow> element per line, with the
// original and reply directions named, so nothing depends on the order of key=value pairs in the
// default text format. Every field is checked before it is used: addresses and ports from here end
// up on a conntrack command line.
import { parseIP, type Family } from '../model/ip.ts';

/** One UDP conntrack entry: the original direction's tuple and where its replies come from. */
export interface UdpEntry {
  family: Family;
  origSrc: string;
  origDst: string;
  origSport: number;
  origDport: number;
  /** The reply's source: the DNAT target, or origDst itself when the entry was never DNATed. */
  replySrc: string;
  replySport: number;
}

/** The arguments that list one family's UDP entries, one <flow> per line. */
export function listArgs(family: Family): string[] {
  return ['-L', '-f', family === 4 ? 'ipv4' : 'ipv6', '-p', 'udp', '-o', 'xml'];
}

const L3_PROTONUM: Record<string, Family> = { 2: 4, 10: 6 };
const UDP_PROTONUM = '17';

interface Direction { family: Family; src: string; dst: string; sport: number; dport: number }

function port(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function address(text: string | undefined, family: Family): string | undefined {
  const ip = parseIP(text);
  return ip && ip.family === family ? ip.address : undefined;
}

function direction(meta: string): Direction | undefined {
  const l3 = /<layer3 protonum="([0-9]+)"[^>]*>(.*?)<\/layer3>/.exec(meta);
  const l4 = /<layer4 protonum="([0-9]+)"[^>]*>(.*?)<\/layer4>/.exec(meta);
  if (!l3 || !l4 || l4[1] !== UDP_PROTONUM) return undefined;
  const family = L3_PROTONUM[l3[1]];
  if (!family) return undefined;
  const field = (body: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];
  const src = address(field(l3[2], 'src'), family);
  const dst = address(field(l3[2], 'dst'), family);
  const sport = port(field(l4[2], 'sport'));
  const dport = port(field(l4[2], 'dport'));
  if (src === undefined || dst === undefined || sport === undefined || dport === undefined) return undefined;
  return { family, src, dst, sport, dport };
}

/** The entry one line of `conntrack -L -o xml` holds; undefined for any other line, or a flow that is not UDP or not whole. */
export function parseFlowLine(line: string): UdpEntry | undefined {
  if (!line.includes('<flow>')) return undefined;
  const meta = (dir: string) => new RegExp(`<meta direction="${dir}">(.*?)</meta>`).exec(line)?.[1];
  const orig = meta('original'), reply = meta('reply');
  if (orig === undefined || reply === undefined) return undefined;
  const o = direction(orig), r = direction(reply);
  if (!o || !r || o.family !== r.family) return undefined;
  return { family: o.family, origSrc: o.src, origDst: o.dst, origSport: o.sport, origDport: o.dport, replySrc: r.src, replySport: r.sport };
}
