// Finds what kube-proxy leaves on a node after its pods are gone: its nftables tables (nftables
// mode), its KUBE-* iptables chains (iptables and ipvs modes, in the nft and the legacy backend, IPv4
// and IPv6), and its IPVS state (the kube-ipvs0 dummy interface, virtual servers on its addresses,
// KUBE-* ipsets). Only reads; remove.ts takes them away.
import { parseIP } from '../model/ip.ts';
import type { Tools } from './exec.ts';
import { parseIptablesSave, type TableLeftovers } from './iptables.ts';

export const IPVS_INTERFACE = 'kube-ipvs0';

export interface IptablesTool {
  /** iptables-nft, iptables-legacy, ip6tables-nft, ip6tables-legacy (or plain iptables, ip6tables). */
  name: string;
  save: string;
  restore: string;
  backend: 'nft' | 'legacy';
}

export interface IptablesLeftovers { tool: IptablesTool; tables: TableLeftovers[] }

/** An IPVS virtual server as ipvsadm names it: -t/-u/--sctp-service and address:port. */
export interface VirtualServer { protocol: '-t' | '-u' | '--sctp-service'; address: string }

export interface KubeProxyLeftovers {
  nftTables: ('ip' | 'ip6')[];
  iptables: IptablesLeftovers[];
  ipvsInterface: boolean;
  ipvsVirtualServers: VirtualServer[];
  ipsets: string[];
  /** Tools that were not there to ask (so what they would have found is unknown). */
  notChecked: string[];
}

export type LeftoverKind = 'nftables-table' | 'iptables-nft-chain' | 'iptables-legacy-chain' | 'ipvs-interface' | 'ipvs-virtual-server' | 'ipset';
export const LEFTOVER_KINDS: readonly LeftoverKind[] = ['nftables-table', 'iptables-nft-chain', 'iptables-legacy-chain', 'ipvs-interface', 'ipvs-virtual-server', 'ipset'];

export function leftoverCounts(l: KubeProxyLeftovers): Record<LeftoverKind, number> {
  const chains = (backend: 'nft' | 'legacy') => l.iptables.filter((i) => i.tool.backend === backend)
    .reduce((n, i) => n + i.tables.reduce((m, t) => m + t.chains.length, 0), 0);
  return {
    'nftables-table': l.nftTables.length,
    'iptables-nft-chain': chains('nft'),
    'iptables-legacy-chain': chains('legacy'),
    'ipvs-interface': l.ipvsInterface ? 1 : 0,
    'ipvs-virtual-server': l.ipvsVirtualServers.length,
    ipset: l.ipsets.length,
  };
}

export function hasLeftovers(l: KubeProxyLeftovers): boolean {
  return Object.values(leftoverCounts(l)).some((n) => n > 0);
}

const IPTABLES_TOOLS: IptablesTool[] = ['iptables', 'ip6tables'].flatMap((base) => (['nft', 'legacy'] as const).map((backend) => ({
  name: `${base}-${backend}`, save: `${base}-${backend}-save`, restore: `${base}-${backend}-restore`, backend,
})));

/** The iptables variants installed: the -nft and -legacy ones, else the plain one with the backend it reports. */
async function iptablesTools(tools: Tools, notChecked: string[]): Promise<IptablesTool[]> {
  const found: IptablesTool[] = [];
  for (const t of IPTABLES_TOOLS) if (await tools.has(t.save) && await tools.has(t.restore)) found.push(t);
  for (const base of ['iptables', 'ip6tables']) {
    if (found.some((t) => t.name.startsWith(`${base}-`))) continue;
    if (!(await tools.has(`${base}-save`))) {
      notChecked.push(`${base}-save`);
      continue;
    }
    const v = await tools.run(`${base}-save`, ['--version']);
    const backend = /nf_tables/.test(v.stdout + v.stderr) ? 'nft' : 'legacy';
    found.push({ name: base, save: `${base}-save`, restore: `${base}-restore`, backend });
  }
  return found;
}

export async function findKubeProxyLeftovers(tools: Tools): Promise<KubeProxyLeftovers> {
  const notChecked: string[] = [];
  const out: KubeProxyLeftovers = { nftTables: [], iptables: [], ipvsInterface: false, ipvsVirtualServers: [], ipsets: [], notChecked };

  if (await tools.has('nft')) {
    const r = await tools.run('nft', ['list', 'tables']);
    if (r.exitCode !== 0) throw new Error(`nft list tables: ${r.stderr.trim()}`);
    for (const m of r.stdout.matchAll(/^table (ip|ip6) kube-proxy$/gm)) out.nftTables.push(m[1] as 'ip' | 'ip6');
  } else notChecked.push('nft');

  for (const tool of await iptablesTools(tools, notChecked)) {
    // Without -t, iptables-save lists only the tables that exist (no kernel module gets loaded).
    const r = await tools.run(tool.save, []);
    if (r.exitCode !== 0) continue; // e.g. the legacy backend without its kernel modules: nothing of it can exist
    const tables = parseIptablesSave(r.stdout);
    if (tables.length > 0) out.iptables.push({ tool, tables });
  }

  const link = await tools.run('ip', ['-o', 'addr', 'show', 'dev', IPVS_INTERFACE]);
  const vips = new Set<string>();
  if (link.exitCode === 0) {
    out.ipvsInterface = true;
    for (const m of link.stdout.matchAll(/ inet6? ([0-9a-f.:]+)\//g)) if (parseIP(m[1])) vips.add(m[1]);
  }
  if (await tools.has('ipvsadm')) {
    const r = await tools.run('ipvsadm', ['-S', '-n']);
    if (r.exitCode === 0) out.ipvsVirtualServers = parseVirtualServers(r.stdout).filter((v) => vips.has(hostOf(v.address)));
  } else notChecked.push('ipvsadm');
  if (await tools.has('ipset')) {
    const r = await tools.run('ipset', ['list', '-n']);
    if (r.exitCode === 0) out.ipsets = r.stdout.split('\n').filter((n) => /^KUBE-[A-Z0-9-]{1,26}$/.test(n));
  } else notChecked.push('ipset');
  return out;
}

/** Virtual servers (-A lines) of `ipvsadm -S -n`: only kube-proxy's, on kube-ipvs0's addresses, are removed. */
export function parseVirtualServers(text: string): VirtualServer[] {
  const out: VirtualServer[] = [];
  for (const m of text.matchAll(/^-A (-t|-u|--sctp-service) (\S+)/gm)) {
    const address = m[2];
    const port = /:(\d{1,5})$/.exec(address)?.[1];
    if (port === undefined || Number(port) > 65535 || !parseIP(hostOf(address))) continue;
    out.push({ protocol: m[1] as VirtualServer['protocol'], address });
  }
  return out;
}

/** 10.96.0.1:443 -> 10.96.0.1; [fd00::1]:443 -> fd00::1. */
function hostOf(address: string): string {
  const host = address.replace(/:\d+$/, '');
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
