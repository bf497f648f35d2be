// `sluice trace --kernel`: sends each traced packet through the real kernel and compares. The
// rendered rules go into a scratch node (scratch-node.ts); a table of our own (never sluice's)
// sets `meta nftrace` on the test packets, `nft monitor trace` records what the kernel did with
// them. Several traces share one scratch node: each packet has its own source port to tell it by.
import { execa, type ResultPromise } from 'execa';
import type { Ruleset } from '../nft/ir.ts';
import { renderRuleset } from '../nft/templates.ts';
import type { Trace } from './evaluate.ts';
import { compareWithKernel, type KernelCheck } from './kernel-compare.ts';
import { eventsByPacket, kernelPath, parseTraceEvents } from './kernel-trace.ts';
import { withScratchNode, type ScratchNode } from './scratch-node.ts';
import type { OutgoingPacket } from './send-packets.ts';

const FIRST_PORT = 40000;
const CANARY_PORT = 49999;
export const MAX_BATCH = CANARY_PORT - FIRST_PORT;

const TRACE_TABLE = `table inet sluice_trace {
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		meta l4proto { tcp, udp } th sport ${FIRST_PORT}-${CANARY_PORT} meta nftrace set 1
	}
	chain out {
		type filter hook output priority -400; policy accept;
		meta l4proto { tcp, udp } th sport ${FIRST_PORT}-${CANARY_PORT} meta nftrace set 1
	}
}
`;

const SENDER = new URL('./send-packets.ts', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface KernelCheckOptions {
  nodeIPs: string[];
  /** The whole batch's time limit (default 20 s plus 50 ms a packet). */
  timeoutMs?: number;
}

export async function checkInKernel(ruleset: Ruleset, traces: Trace[], o: KernelCheckOptions): Promise<KernelCheck[]> {
  if (traces.length > MAX_BATCH) throw new Error(`at most ${MAX_BATCH} traces per kernel check`);
  const deadline = Date.now() + (o.timeoutMs ?? 20_000 + 50 * traces.length);
  const podSource = ruleset.tables.find((t) => t.podSource.kind === 'bridge' || t.podSource.kind === 'prefix')?.podSource ?? { kind: 'none' as const };
  return withScratchNode({ nodeIPs: o.nodeIPs, podSource }, async (node) => {
    await nodeNft(node, ['-f', '-'], renderRuleset(ruleset));
    await nodeNft(node, ['-f', '-'], TRACE_TABLE);
    const outgoing = new Map<Trace, OutgoingPacket>();
    traces.forEach((t, i) => {
      if (t.packet.proto === 'sctp') return;
      outgoing.set(t, { proto: t.packet.proto, saddr: t.packet.saddr, sport: FIRST_PORT + i, daddr: t.packet.daddr, dport: t.packet.dport });
    });
    for (const t of outgoing.keys()) await node.addSource(t.packet.via, t.packet.saddr);

    const monitor = execa('ip', ['netns', 'exec', node.node, 'nft', 'monitor', 'trace'], { buffer: false, reject: false });
    let text = '';
    monitor.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
    try {
      await waitForMonitor(node, () => text, deadline);
      const byNs = new Map<string, OutgoingPacket[]>();
      for (const [t, p] of outgoing) {
        const ns = t.packet.via === 'pod' ? node.pod : t.packet.via === 'node' ? node.node : node.external;
        (byNs.get(ns) ?? byNs.set(ns, []).get(ns)!).push(p);
      }
      await Promise.all([...byNs].map(([ns, packets]) => send(ns, packets, deadline)));
      await quiet(() => text, deadline);
    } finally {
      await stop(monitor);
    }
    const byPacket = eventsByPacket(parseTraceEvents(text));
    return traces.map((t) => {
      const p = outgoing.get(t);
      if (!p) return { agrees: false, skipped: 'the kernel check cannot send SCTP (no SCTP sockets here)', differences: [] };
      const events = byPacket.get(`${p.saddr} ${p.sport}`);
      return compareWithKernel(t, events ? kernelPath(events, t.packet.family === 4 ? 'ip' : 'ip6') : undefined);
    });
  });
}

async function nodeNft(node: ScratchNode, args: string[], input?: string): Promise<void> {
  await execa('ip', ['netns', 'exec', node.node, 'nft', ...args], { input });
}

function send(ns: string, packets: OutgoingPacket[], deadline: number) {
  return execa('ip', ['netns', 'exec', ns, process.execPath, SENDER], { input: JSON.stringify(packets), timeout: Math.max(1000, deadline - Date.now()) });
}

/** The monitor has no "ready" signal: a canary packet on lo shows when it sees traces. */
async function waitForMonitor(node: ScratchNode, text: () => string, deadline: number): Promise<void> {
  const canary: OutgoingPacket = { proto: 'udp', saddr: '127.0.0.1', sport: CANARY_PORT, daddr: '127.0.0.1', dport: 9 };
  while (!text().includes(`udp sport ${CANARY_PORT} `)) {
    if (Date.now() > deadline) throw new Error('nft monitor trace showed nothing in time');
    await send(node.node, [canary], deadline);
    await sleep(100);
  }
}

/** Waits until the trace output has been still for a moment: every packet is through the hooks. */
async function quiet(text: () => string, deadline: number): Promise<void> {
  let last = -1;
  while (Date.now() < deadline) {
    await sleep(200);
    if (text().length === last) return;
    last = text().length;
  }
}

async function stop(p: ResultPromise): Promise<void> {
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 2000);
  await p.catch(() => {});
  clearTimeout(timer);
}
