// IP addresses and CIDRs as sluice accepts them: parsed strictly and written in one canonical form
// (IPv4 dotted quad, IPv6 RFC 5952), so equal addresses compare equal and are safe in nft text.

export type Family = 4 | 6;

export interface ParsedIP { address: string; family: Family; bytes: number[] }
export interface ParsedCIDR { cidr: string; address: string; prefix: number; family: Family }

const V4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

const V4_QUAD = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;

function parseV4Bytes(s: string): number[] | undefined {
  const m = V4_QUAD.exec(s);
  if (m) {
    const bytes = [+m[1], +m[2], +m[3], +m[4]];
    return bytes.every((b) => b <= 255) ? bytes : undefined;
  }
  if (!s.includes(':')) return undefined;
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!V4_OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

function parseV6Bytes(s: string): number[] | undefined {
  if (s.length > 45 || s.includes('%')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i];
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseV4Bytes(g);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!HEX_GROUP.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  return bytes;
}

function formatV6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

function isV4Mapped(bytes: number[]): boolean {
  return bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one (zones and IPv4-mapped IPv6 are refused). */
export function parseIP(value: unknown): ParsedIP | undefined {
  if (typeof value !== 'string') return undefined;
  const v4 = parseV4Bytes(value);
  if (v4) return { address: v4.join('.'), family: 4, bytes: v4 };
  const v6 = parseV6Bytes(value);
  if (v6 && !isV4Mapped(v6)) return { address: formatV6(v6), family: 6, bytes: v6 };
  return undefined;
}

/** Parses a CIDR; host bits are cleared, as Go's net.ParseCIDR does, so the result is a network. */
export function parseCIDR(value: unknown): ParsedCIDR | undefined {
  if (typeof value !== 'string') return undefined;
  const slash = value.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(value.slice(0, slash));
  const prefixText = value.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const bits = ip.family === 4 ? 32 : 128;
  if (prefix > bits) return undefined;
  const bytes = ip.bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const address = ip.family === 4 ? bytes.join('.') : formatV6(bytes);
  return { cidr: `${address}/${prefix}`, address, prefix, family: ip.family };
}

export function cidrContains(cidr: ParsedCIDR, ip: ParsedIP): boolean {
  if (cidr.family !== ip.family) return false;
  const net = parseIP(cidr.address)!;
  for (let bit = 0; bit < cidr.prefix; bit++) {
    const byte = bit >> 3, mask = 0x80 >> (bit & 7);
    if ((net.bytes[byte] & mask) !== (ip.bytes[byte] & mask)) return false;
  }
  return true;
}

/** A string that sorts like the address it stands for (IPv4 before IPv6, then numerically). */
export function sortKeyOf(ip: ParsedIP): string {
  const b = ip.bytes;
  if (ip.family === 4) return '4' + (((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0).toString(16).padStart(8, '0');
  let key = '6';
  for (let i = 0; i < 16; i += 4) key += (((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0).toString(16).padStart(8, '0');
  return key;
}

