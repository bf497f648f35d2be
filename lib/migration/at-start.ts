// kube-proxy's leftovers when `sluice run` starts: found and reported (one log line, the
// sluice_kube_proxy_leftovers gauge, an event on the Node), and with `--cleanup-kube-proxy` removed
// once sluice's first sync is in the kernel, so Services are never without rules in between.
import type { Gauge } from 'prom-client';
import type { Logger } from '../log.ts';
import type { Tools } from './exec.ts';
import { findKubeProxyLeftovers, hasLeftovers, leftoverCounts, LEFTOVER_KINDS, type KubeProxyLeftovers } from './leftovers.ts';
import { removeKubeProxyLeftovers } from './remove.ts';

export type NodeEvent = (type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;

export const LEFTOVERS_REASON = 'KubeProxyLeftovers';
export const REMOVED_REASON = 'KubeProxyLeftoversRemoved';

export interface MigrationOptions {
  tools: Tools;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  gauge: Gauge<'kind'>;
  nodeEvent?: NodeEvent;
  remove: boolean;
}

/** What was found, in words: "nftables-table 2, iptables-nft-chain 14 (ip nat KUBE-SERVICES, ...)". */
export function describeLeftovers(l: KubeProxyLeftovers): string {
  const counts = leftoverCounts(l);
  const parts = LEFTOVER_KINDS.filter((k) => counts[k] > 0).map((k) => `${k} ${counts[k]}`);
  return parts.join(', ');
}

function details(l: KubeProxyLeftovers): Record<string, unknown> {
  return {
    nftTables: l.nftTables.map((f) => `${f} kube-proxy`),
    iptables: l.iptables.map((i) => ({ tool: i.tool.name, tables: Object.fromEntries(i.tables.map((t) => [t.table, t.chains])) })),
    ipvsInterface: l.ipvsInterface,
    ipvsVirtualServers: l.ipvsVirtualServers.map((v) => `${v.protocol} ${v.address}`),
    ipsets: l.ipsets,
    notChecked: l.notChecked,
  };
}

export function setGauge(gauge: Gauge<'kind'>, l: KubeProxyLeftovers): void {
  const counts = leftoverCounts(l);
  for (const kind of LEFTOVER_KINDS) gauge.set({ kind }, counts[kind]);
}

/** Looks once and reports; returns what to run after the first successful sync (removal, when asked). */
export async function checkKubeProxyLeftovers(o: MigrationOptions): Promise<() => Promise<void>> {
  let found: KubeProxyLeftovers;
  try {
    found = await findKubeProxyLeftovers(o.tools);
  } catch (e) {
    o.log.warn('could not look for kube-proxy\'s leftovers', { error: (e as Error).message });
    return async () => {};
  }
  setGauge(o.gauge, found);
  if (!hasLeftovers(found)) {
    o.log.info('no kube-proxy leftovers on this node', { notChecked: found.notChecked });
    return async () => {};
  }
  const what = describeLeftovers(found);
  o.log.warn(`kube-proxy left rules on this node: ${what}; ${o.remove ? 'removing them after the first sync' : 'remove them with `sluice cleanup --kube-proxy` once kube-proxy is stopped'}`, details(found));
  await o.nodeEvent?.('Warning', LEFTOVERS_REASON, `kube-proxy's rules are still on this node: ${what}`);
  if (!o.remove) return async () => {};
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await removeAndReport(o, found);
  };
}

async function removeAndReport(o: MigrationOptions, found: KubeProxyLeftovers): Promise<void> {
  const { failures } = await removeKubeProxyLeftovers(found, o.tools);
  const after = await findKubeProxyLeftovers(o.tools);
  setGauge(o.gauge, after);
  if (failures.length > 0 || hasLeftovers(after)) {
    o.log.error('could not remove all of kube-proxy\'s leftovers', { failures, left: describeLeftovers(after) });
    await o.nodeEvent?.('Warning', LEFTOVERS_REASON, `sluice could not remove all of kube-proxy's rules: ${failures[0] ?? describeLeftovers(after)}`);
    return;
  }
  o.log.info(`removed kube-proxy's leftovers: ${describeLeftovers(found)}`);
  await o.nodeEvent?.('Normal', REMOVED_REASON, `sluice removed kube-proxy's rules: ${describeLeftovers(found)}`);
}
