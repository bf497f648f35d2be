// kube-proxy's iptables leftovers (iptables and ipvs modes, nft and legacy backends) read from
// iptables-save, and the iptables-restore input that removes them and nothing else: the jump rules
// to them from other chains, then their own rules, then the chains. Everything put back into
// iptables-restore is checked here first: table and chain names against iptables' syntax, rule
// lines (the kernel's own, as iptables-save printed them) for a plain one-line shape.

export const TABLES = ['nat', 'filter', 'mangle', 'raw', 'security'] as const;
export type IptablesTable = (typeof TABLES)[number];

/** Chains of kubelet's, not kube-proxy's: kubelet still makes them and reads them (iptables mode hint, canary). */
const KUBELET_CHAINS = new Set(['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY']);
const KUBE_CHAIN = /^KUBE-[A-Z0-9-]{1,23}$/;
const CHAIN = /^[A-Za-z0-9_.-]{1,28}$/;
// A rule as iptables-save prints it: "-A CHAIN" and printable text, no control characters.
const RULE = /^-A ([A-Za-z0-9_.-]{1,28}) ([\x20-\x7e]+)$/;

export interface TableLeftovers {
  table: IptablesTable;
  /** kube-proxy's chains in this table. */
  chains: string[];
  /** Rules outside those chains that jump (or go) to one of them, as iptables-save printed them. */
  jumps: string[];
}

export function isKubeProxyChain(name: string): boolean {
  return KUBE_CHAIN.test(name) && !KUBELET_CHAINS.has(name);
}

/** The kube-proxy chains and the jumps to them in one iptables-save output; tables with none left out. */
export function parseIptablesSave(text: string): TableLeftovers[] {
  const out: TableLeftovers[] = [];
  let current: { table: IptablesTable; chains: string[]; rules: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      const table = line.slice(1) as IptablesTable;
      current = TABLES.includes(table) ? { table, chains: [], rules: [] } : undefined;
    } else if (!current) {
      continue;
    } else if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (isKubeProxyChain(name)) current.chains.push(name);
    } else if (line.startsWith('-A ')) {
      current.rules.push(line);
    } else if (line === 'COMMIT') {
      const kube = new Set(current.chains);
      const jumps = current.rules.filter((r) => {
        const m = RULE.exec(r);
        if (!m || kube.has(m[1])) return false;
        const target = / -[jg] ([^ ]+)/.exec(r)?.[1];
        return target !== undefined && kube.has(target);
      });
      if (current.chains.length > 0) out.push({ table: current.table, chains: current.chains, jumps });
      current = undefined;
    }
  }
  return out;
}

/** iptables-restore --noflush input removing exactly these leftovers, one table per COMMIT. */
export function removalInput(leftovers: TableLeftovers[]): string {
  const lines: string[] = [];
  for (const t of leftovers) {
    if (!TABLES.includes(t.table)) throw new Error(`not an iptables table: ${t.table}`);
    lines.push(`*${t.table}`);
    for (const rule of t.jumps) {
      const m = RULE.exec(rule);
      if (!m || !CHAIN.test(m[1])) throw new Error(`not a rule line iptables-save prints: ${JSON.stringify(rule).slice(0, 120)}`);
      lines.push(`-D ${m[1]} ${m[2]}`);
    }
    for (const c of t.chains) {
      if (!isKubeProxyChain(c)) throw new Error(`not a kube-proxy chain: ${JSON.stringify(c)}`);
      lines.push(`-F ${c}`);
    }
    for (const c of t.chains) lines.push(`-X ${c}`);
    lines.push('COMMIT');
  }
  return lines.join('\n') + '\n';
}
