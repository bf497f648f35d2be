// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI 2016, section 3.4): a lookup table of M slots (M prime), each naming a backend,
// such that every backend holds M/N slots (give or take one) and a change of one backend moves
// little more than that backend's share of slots.
//
// Each backend has a preference list over the slots, a permutation given by two hashes of its
// name: offset = h1 mod M, skip = h2 mod (M-1) + 1, slot j of the list = (offset + j * skip) mod M
// (M prime: every skip walks every slot). Backends take turns claiming the next free slot of their
// own list until the table is full.
//
// The table depends only on the set of backend names and M: names are deduplicated and sorted
// (code-unit order) before the turns start, so every node computes the same table for the same
// endpoints, whatever order its EndpointSlices listed them in. Pure: no randomness, no clock.

/** The smallest and largest table sizes accepted: primes, the largest one below 2^16. */
export const MIN_TABLE_SIZE = 7;
export const MAX_TABLE_SIZE = 65521;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** A backend's name in the table: its address and port, as nft writes a DNAT target. */
export function backendName(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * murmur3 x86 32-bit (Austin Appleby, public domain) over the UTF-8 bytes of `text`: small, well
 * mixed, and the same on every machine. Two seeds give the paper's two independent hashes.
 */
export function murmur3(text: string, seed: number): number {
  const bytes = new TextEncoder().encode(text);
  const c1 = 0xcc9e2d51, c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2);
    h ^= k; h = (h << 13) | (h >>> 19); h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (bytes.length & 3) {
    case 3: k ^= bytes[blocks + 2] << 16; // falls through
    case 2: k ^= bytes[blocks + 1] << 8; // falls through
    case 1:
      k ^= bytes[blocks];
      k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const OFFSET_SEED = 0x4d61676c; // "Magl"
const SKIP_SEED = 0x65763136; // "ev16"

export interface MaglevTable {
  /** The backends' names, deduplicated and sorted: the canonical order. */
  backends: string[];
  /** M slots, each an index into `backends`. */
  slots: number[];
}

/** The Maglev table of size `size` (a prime) for these backend names (at least one). */
export function maglevTable(names: readonly string[], size: number): MaglevTable {
  if (!isPrime(size)) throw new Error(`maglev: table size ${size} is not a prime`);
  const backends = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const n = backends.length;
  if (n === 0) throw new Error('maglev: no backends');
  const offset = backends.map((b) => murmur3(b, OFFSET_SEED) % size);
  const skip = backends.map((b) => (murmur3(b, SKIP_SEED) % (size - 1)) + 1);
  const next = new Array<number>(n).fill(0);
  const slots = new Array<number>(size).fill(-1);
  let filled = 0;
  // With more backends than slots, the first M backends fill the table in the first round.
  while (filled < size) {
    for (let i = 0; i < n && filled < size; i++) {
      let c = (offset[i] + next[i] * skip[i]) % size;
      while (slots[c] >= 0) {
        next[i]++;
        c = (offset[i] + next[i] * skip[i]) % size;
      }
      slots[c] = i;
      next[i]++;
      filled++;
    }
  }
  return { backends, slots };
}
