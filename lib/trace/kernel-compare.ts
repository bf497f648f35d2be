// Does the kernel agree with the trace? Same verdict; for a DNAT, a target among the predicted
// endpoints, reached through the chains the trace predicts for that endpoint, masqueraded or not alike.
import type { Trace, TracePath } from './evaluate.ts';
import type { KernelPath } from './kernel-trace.ts';

export interface KernelCheck {
  agrees: boolean;
  /** Why the packet could not be sent (SCTP): then nothing was compared. */
  skipped?: string;
  observed?: KernelPath;
  differences: string[];
}

const same = (a: { address: string; port: number }, b: { address: string; port: number }) => a.address === b.address && a.port === b.port;

export function compareWithKernel(t: Trace, k: KernelPath | undefined): KernelCheck {
  if (!k) return { agrees: false, differences: ['the kernel traced no such packet (it never reached a traced hook)'] };
  const differences: string[] = [];
  if (k.verdict !== t.verdict) differences.push(`verdict: trace says ${t.verdict}, the kernel did ${k.verdict}`);
  let path: TracePath | undefined = t.paths.find((p) => p.verdict === t.verdict);
  if (k.verdict === 'dnat' && t.verdict === 'dnat') {
    path = k.target ? t.paths.find((p) => p.endpoint && same(p.endpoint, k.target!)) : undefined;
    if (!k.target) differences.push('the kernel DNATed, but no packet line after it shows where to');
    else if (!path) differences.push(`the kernel DNATed to ${k.target.address}:${k.target.port}, not one of the predicted endpoints`);
  }
  if (path) {
    const predicted = [...new Set(path.chains)];
    if (predicted.join(' > ') !== k.chains.join(' > ')) differences.push(`chains: trace ${predicted.join(' > ')}; kernel ${k.chains.join(' > ')}`);
    if (k.verdict === 'dnat' && path.masquerade !== k.masquerade) differences.push(`masquerade: trace ${path.masquerade}, kernel ${k.masquerade}`);
  }
  return { agrees: differences.length === 0, observed: k, differences };
}
