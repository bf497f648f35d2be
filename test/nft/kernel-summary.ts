// `nft -j list ruleset` reduced to what the fake holds (test/support/nft-fake/state.ts summarize):
// per chain its rule count, hook and the sets, chains and counters its rules name; per set or map
// its flags, timeout and elements as text; counters and tables by name.
import type { StateSummary } from '../support/nft-fake/state.ts';

type Json = any;

/** An element's key or value as nft writes it in a script. */
function text(v: Json): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `${text(v[0])} : ${text(v[1])}`;
  if (v.concat) return v.concat.map(text).join(' . ');
  if (v.prefix) return `${v.prefix.addr}/${v.prefix.len}`;
  if (v.range) return `${text(v.range[0])}-${text(v.range[1])}`;
  if (v.elem) return text(v.elem.val);
  if (v.goto) return `goto ${v.goto.target}`;
  if (v.jump) return `jump ${v.jump.target}`;
  const [verdict] = Object.keys(v);
  return verdict;
}

/** The names a rule's expressions refer to, as the fake lists them. */
function refs(v: Json, out: string[]): string[] {
  if (typeof v === 'string') {
    if (v.startsWith('@')) out.push(v);
  } else if (Array.isArray(v)) {
    for (const x of v) refs(x, out);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'goto' || k === 'jump') && (x as Json)?.target) out.push(`-> ${(x as Json).target}`);
      else if (k === 'counter' && typeof x === 'string') out.push(`counter ${x}`);
      else refs(x, out);
    }
  }
  return out;
}

export function kernelSummary(listing: string): StateSummary {
  const out: StateSummary = {};
  for (const item of (JSON.parse(listing) as { nftables: Json[] }).nftables) {
    const [kind, b] = Object.entries(item)[0] as [string, Json];
    const id = `${kind} ${b.family} ${b.table} ${b.name}`;
    if (kind === 'table') out[`table ${b.family} ${b.name}`] = {};
    else if (kind === 'counter') out[id] = {};
    else if (kind === 'chain') out[id] = { rules: 0, refs: [], ...(b.hook ? { hook: b.hook } : {}) };
    else if (kind === 'set' || kind === 'map') {
      out[id] = { flags: [].concat(b.flags ?? []).sort(), ...(b.timeout !== undefined ? { timeout: b.timeout } : {}), elements: (b.elem ?? []).map(text).sort() };
    } else if (kind === 'rule') {
      const c = out[`chain ${b.family} ${b.table} ${b.chain}`] as { rules: number; refs: string[] };
      c.rules++;
      c.refs = [...c.refs, ...refs(b.expr, [])].sort();
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}
