// Removes kube-proxy's leftovers (leftovers.ts) in one step, leaving everything else: other nftables
// tables, iptables chains and rules that are not kube-proxy's, other interfaces, virtual servers and
// ipsets. Order matters: IPVS virtual servers, then iptables (its rules refer to the ipsets), then
// the ipsets, the kube-ipvs0 interface and kube-proxy's nftables tables. Each iptables variant's
// tables go in one iptables-restore transaction, so a refusal leaves that variant as it was.
import type { Tools } from './exec.ts';
import { removalInput } from './iptables.ts';
import { IPVS_INTERFACE, parseVirtualServers, type KubeProxyLeftovers } from './leftovers.ts';
import { renderKubeProxyCleanup } from './render.ts';

export interface RemovalResult {
  /** What could not be removed, each with the tool's answer. */
  failures: string[];
}

export async function removeKubeProxyLeftovers(l: KubeProxyLeftovers, tools: Tools): Promise<RemovalResult> {
  const failures: string[] = [];
  const check = async (what: string, cmd: string, args: string[], input?: string) => {
    const r = await tools.run(cmd, args, input);
    if (r.exitCode !== 0) failures.push(`${what}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  };
  for (const v of l.ipvsVirtualServers) {
    // Checked again: the address goes on a command line.
    const [ok] = parseVirtualServers(`-A ${v.protocol} ${v.address}\n`);
    if (!ok || ok.address !== v.address) throw new Error(`not an IPVS virtual server: ${JSON.stringify(v)}`);
    await check(`ipvsadm -D ${v.protocol} ${v.address}`, 'ipvsadm', ['-D', v.protocol, v.address]);
  }
  for (const { tool, tables } of l.iptables) {
    await check(`${tool.restore} (${tables.map((t) => t.table).join(', ')})`, tool.restore, ['--noflush'], removalInput(tables));
  }
  for (const name of l.ipsets) {
    if (!/^KUBE-[A-Z0-9-]{1,26}$/.test(name)) throw new Error(`not a kube-proxy ipset: ${JSON.stringify(name)}`);
    await check(`ipset destroy ${name}`, 'ipset', ['destroy', name]);
  }
  if (l.ipvsInterface) await check(`ip link del ${IPVS_INTERFACE}`, 'ip', ['link', 'del', IPVS_INTERFACE]);
  // A script of a few lines through a pipe: were sluice to die while writing it, a prefix commits
  // at most a table declaration, which changes nothing.
  if (l.nftTables.length > 0) await check('nft delete table (kube-proxy)', 'nft', ['-f', '-'], renderKubeProxyCleanup(l.nftTables));
  return { failures };
}
