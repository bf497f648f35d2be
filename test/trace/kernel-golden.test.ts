// Every golden case's every front, from a pod, the node and outside, traced and then sent through
// the kernel with the case's rules loaded: the kernel must take the path the trace predicts.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Trace } from '../../lib/trace/evaluate.ts';
import { checkInKernel } from '../../lib/trace/kernel-check.ts';
import { TraceInputError } from '../../lib/trace/packet.ts';
import { traceRequest } from '../../lib/trace/trace.ts';
import { FIXTURES } from '../support/render-case.ts';
import { nftAvailable } from '../support/netns.ts';
import { everyFront, plannedCase } from './planned-case.ts';

const available = nftAvailable();
const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const maybe = available.ok ? describe : describe.skip;
if (!available.ok) console.warn(`skipping trace --kernel tests: ${available.reason}`);

maybe(available.ok ? 'trace agrees with the kernel' : `trace agrees with the kernel (skipped: ${available.reason})`, () => {
  test.each(cases)('rules-fixtures/%s: every front, from a pod, the node and outside', async (name) => {
    const planned = plannedCase(join(FIXTURES, name));
    const traces: { what: string; trace: Trace }[] = [];
    for (const r of everyFront(planned)) {
      try {
        traces.push({ what: `${r.to} via ${r.via}`, trace: traceRequest(planned, r) });
      } catch (e) {
        if (!(e instanceof TraceInputError)) throw e; // no node address or pod range to send from: nothing to trace
      }
    }
    expect(traces.length).toBeGreaterThan(0);
    const checks = await checkInKernel(planned.ruleset, traces.map((t) => t.trace), { nodeIPs: planned.model.node.internalIPs });
    const disagreements = checks.flatMap((c, i) => (c.agrees || c.skipped ? [] : [{ what: traces[i].what, predicted: traces[i].trace.verdict, differences: c.differences }]));
    expect(disagreements).toEqual([]);
    // The packets really went through: most traces were checked, not skipped.
    expect(checks.filter((c) => c.agrees).length).toBeGreaterThan(checks.length / 2);
  }, 60_000);

  test('a wrong prediction is caught: another endpoint, another verdict', async () => {
    const planned = plannedCase(join(FIXTURES, 'lab-cluster'));
    const right = traceRequest(planned, { to: '10.96.0.1:80', via: 'external' });
    const elsewhere = { ...right, paths: right.paths.map((p) => ({ ...p, endpoint: { address: '10.9.9.9', port: 1 } })) };
    const rejecting = { ...right, verdict: 'reject' as const };
    const [a, b, c] = await checkInKernel(planned.ruleset, [right, elsewhere, rejecting], { nodeIPs: planned.model.node.internalIPs });
    expect(a.agrees).toBe(true);
    expect(b.differences.join()).toMatch(/not one of the predicted endpoints/);
    expect(c.differences.join()).toMatch(/verdict: trace says reject, the kernel did dnat/);
  }, 30_000);
});
