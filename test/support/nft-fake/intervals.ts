// Element key parts as the kernel compares them: an address, prefix or range of addresses or numbers
// is the interval it covers; anything else (`tcp`) is itself.

function ipv4(s: string): bigint | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return undefined;
  return m.slice(1).reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
}

function ipv6(s: string): bigint | undefined {
  if (!s.includes(':') || !/^[0-9a-fA-F:]+$/.test(s)) return undefined;
  const [head, tail, more] = s.split('::');
  if (more !== undefined) return undefined;
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function address(s: string): { n: bigint; bits: number } | undefined {
  const v4 = ipv4(s);
  if (v4 !== undefined) return { n: v4, bits: 32 };
  const v6 = ipv6(s);
  return v6 === undefined ? undefined : { n: v6, bits: 128 };
}

/** The interval a key part covers, or undefined when it is not an address or number. */
export function rangeOf(part: string): [bigint, bigint] | undefined {
  if (/^\d+$/.test(part)) return [BigInt(part), BigInt(part)];
  const num = /^(\d+)-(\d+)$/.exec(part);
  if (num) return [BigInt(num[1]), BigInt(num[2])];
  const slash = part.indexOf('/');
  if (slash >= 0) {
    const a = address(part.slice(0, slash));
    const len = Number(part.slice(slash + 1));
    if (!a) return undefined;
    const host = (1n << BigInt(a.bits - len)) - 1n;
    return [a.n & ~host, a.n | host];
  }
  const dash = part.indexOf('-');
  if (dash >= 0) {
    const a = address(part.slice(0, dash)), b = address(part.slice(dash + 1));
    return a && b ? [a.n, b.n] : undefined;
  }
  const a = address(part);
  return a ? [a.n, a.n] : undefined;
}

/** A key part as the kernel lists it: a single address written as a prefix of full length is the address. */
export function canonicalPart(part: string): string {
  const m = /^(.*)\/(\d+)$/.exec(part);
  if (m && ((m[2] === '32' && ipv4(m[1]) !== undefined) || (m[2] === '128' && ipv6(m[1]) !== undefined))) return m[1];
  return part;
}

const overlap = (a: [bigint, bigint], b: [bigint, bigint]) => a[0] <= b[1] && b[0] <= a[1];

/** Whether two keys (parts in order) share a point in every part. */
export function keysOverlap(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => {
    const ra = rangeOf(p), rb = rangeOf(b[i]);
    return ra && rb ? overlap(ra, rb) : p === b[i];
  });
}
