// A ruleset as nft lists it (JSON), reduced to what matters for "the same rules": objects by
// family, kind and name, rules in order, set elements as a sorted list, handles dropped, and the
// table id (which full sync made the table, lib/nft/operations.ts) left out.
export function normalizeListing(json: string): Record<string, unknown> {
  const doc = JSON.parse(json) as { nftables: Record<string, any>[] };
  const out: Record<string, unknown> = {};
  const strip = (v: any): any => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) if (k !== 'handle' && k !== 'index') o[k] = strip(v[k]);
      return o;
    }
    return v;
  };
  for (const item of doc.nftables) {
    const [kind, body] = Object.entries(item)[0];
    if (kind === 'metainfo') continue;
    if (kind === 'rule') {
      const id = `chain ${body.family} ${body.table} ${body.chain}`;
      const chain = (out[id] ??= {}) as { rules?: unknown[] };
      (chain.rules ??= []).push(strip(body.expr));
      continue;
    }
    const id = `${kind} ${body.family} ${body.table ?? ''} ${body.name}`;
    const { elem, ...rest } = body;
    const entry = strip(rest);
    if (elem && !(kind === 'set' && body.name === 'table-id')) entry.elem = elem.map((e: unknown) => JSON.stringify(strip(e))).sort();
    out[id] = kind === 'chain' ? { ...(out[id] as object), ...entry } : entry;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}
