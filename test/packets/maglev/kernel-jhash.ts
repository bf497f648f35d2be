// The slot the kernel picks for `jhash ip saddr . tcp sport mod M seed S` (nft_hash.c): the
// registers nft loads (the address in network order, the port in network order padded with zeros
// to 4 bytes), hashed by the kernel's jhash() (Bob Jenkins' lookup3, include/linux/jhash.h, read
// little-endian as on x86 and arm64), scaled to M with reciprocal_scale(). The lab test checks this
// against the kernel packet by packet; the unit tests use it to count flows per endpoint.
import { isIPv4 } from 'node:net';

const rol = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

function final(a: number, b: number, c: number): number {
  c ^= b; c = (c - rol(b, 14)) >>> 0;
  a ^= c; a = (a - rol(c, 11)) >>> 0;
  b ^= a; b = (b - rol(a, 25)) >>> 0;
  c ^= b; c = (c - rol(b, 16)) >>> 0;
  a ^= c; a = (a - rol(c, 4)) >>> 0;
  b ^= a; b = (b - rol(a, 14)) >>> 0;
  c ^= b; c = (c - rol(b, 24)) >>> 0;
  return c >>> 0;
}

function mix(a: number, b: number, c: number): [number, number, number] {
  a = (a - c) >>> 0; a ^= rol(c, 4); c = (c + b) >>> 0;
  b = (b - a) >>> 0; b ^= rol(a, 6); a = (a + c) >>> 0;
  c = (c - b) >>> 0; c ^= rol(b, 8); b = (b + a) >>> 0;
  a = (a - c) >>> 0; a ^= rol(c, 16); c = (c + b) >>> 0;
  b = (b - a) >>> 0; b ^= rol(a, 19); a = (a + c) >>> 0;
  c = (c - b) >>> 0; c ^= rol(b, 4); b = (b + a) >>> 0;
  return [a >>> 0, b >>> 0, c >>> 0];
}

/** The kernel's jhash(key, length, initval). */
export function jhash(key: Uint8Array, seed: number): number {
  let length = key.length;
  let a = (0xdeadbeef + length + seed) >>> 0, b = a, c = a;
  let k = 0;
  const u32 = (i: number) => (key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24)) >>> 0;
  while (length > 12) {
    a = (a + u32(k)) >>> 0; b = (b + u32(k + 4)) >>> 0; c = (c + u32(k + 8)) >>> 0;
    [a, b, c] = mix(a, b, c);
    length -= 12; k += 12;
  }
  if (length === 0) return c;
  const tail = [0, 0, 0];
  for (let i = 0; i < length; i++) tail[i >> 2] = (tail[i >> 2] + key[k + i] * 2 ** (8 * (i & 3))) >>> 0;
  a = (a + tail[0]) >>> 0; b = (b + tail[1]) >>> 0; c = (c + tail[2]) >>> 0;
  return final(a, b, c);
}

function addressBytes(address: string): number[] {
  if (isIPv4(address)) return address.split('.').map(Number);
  const [head, tail] = address.split('::');
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head), t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 255]);
}

/** The slot `jhash <saddr>[ . <proto> sport] mod size seed seed` gives (nft pads the port's register). */
export function kernelSlot(saddr: string, sport: number | undefined, size: number, seed: number): number {
  const bytes = addressBytes(saddr);
  if (sport !== undefined) bytes.push(sport >> 8, sport & 255, 0, 0);
  const h = jhash(Uint8Array.from(bytes), seed);
  return Number((BigInt(h) * BigInt(size)) >> 32n);
}
