// A trace for people (text) and for programs (json).
import { BASE_CHAIN_HOOKS } from './skeleton.ts';
import type { Trace } from './evaluate.ts';
import type { KernelCheck } from './kernel-compare.ts';

const VIA_TEXT = { pod: 'from a pod of this node', node: 'from the node itself', external: 'from outside the cluster' } as const;
const percent = (c: number) => `${(Math.round(c * 1000) / 10).toString()}%`;
const hostPort = (a: string, p: number) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);

/** The JSON shape: verdict, endpoints with their chance, masquerade, chains and reason, then the details. */
export function traceJson(t: Trace, kernel?: KernelCheck): unknown {
  return {
    verdict: t.verdict,
    endpoints: t.endpoints.map((e) => ({ address: e.address, port: e.port, chance: Math.round(e.chance * 1e6) / 1e6, masquerade: e.masquerade })),
    masquerade: t.masquerade,
    chain: t.chain,
    reason: t.reason,
    masqueradeReason: t.masqueradeReason,
    table: t.table,
    packet: t.packet,
    ...(t.service ? { service: t.service } : {}),
    ...(t.affinity ? { affinity: t.affinity } : {}),
    steps: t.notes,
    ...(kernel ? { kernel } : {}),
  };
}

export function traceText(t: Trace, kernel?: KernelCheck): string {
  const p = t.packet;
  const lines: string[] = [];
  lines.push(`packet:     ${p.proto} ${p.saddr} -> ${hostPort(p.daddr, p.dport)}, a new connection ${VIA_TEXT[p.via]}`);
  lines.push(`table:      ${t.table}`);
  if (t.service) lines.push(`service:    ${t.service}`);
  lines.push('path:');
  let lastChain = '';
  for (const c of t.chain) {
    if (c === lastChain) continue;
    lastChain = c;
    lines.push(`  ${c}${BASE_CHAIN_HOOKS[c] ? `  (${BASE_CHAIN_HOOKS[c]})` : ''}`);
  }
  lines.push('steps:');
  for (const n of t.notes) lines.push(`  ${n}`);
  if (t.endpoints.length > 0) {
    lines.push('endpoints:');
    for (const e of t.endpoints) lines.push(`  ${hostPort(e.address, e.port).padEnd(28)} ${percent(e.chance).padStart(6)}${e.masquerade ? '  masqueraded' : ''}`);
  }
  if (t.affinity) lines.push(`affinity:   ${t.affinity.note}`);
  lines.push(`verdict:    ${t.verdict}: ${t.reason}`);
  lines.push(`masquerade: ${t.masquerade ? 'yes' : 'no'}: ${t.masqueradeReason}`);
  if (kernel) {
    lines.push(`kernel:     ${kernel.agrees ? 'agrees' : kernel.skipped ? `not checked: ${kernel.skipped}` : 'DISAGREES'}`);
    if (kernel.observed) {
      const o = kernel.observed;
      lines.push(`  saw ${o.verdict}${o.target ? ` to ${hostPort(o.target.address, o.target.port)}` : ''}${o.masquerade ? ', masqueraded' : ''}; chains ${o.chains.join(' > ')}`);
    }
    for (const d of kernel.differences) lines.push(`  ${d}`);
  }
  return lines.join('\n') + '\n';
}
