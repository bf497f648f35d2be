// Stage 4: the data plane. A lab (lab: a client, node1 with two pods) with the N-service
// ruleset on node1 whose first and last services are backed by the lab's pods; new TCP connections
// per second from the client to the first service, the last one, and straight to the pods, the three
// taking turns within each run. Then the same services as kube-proxy iptables-mode rules (sluice's
// tables removed first) and the same three.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '../lab/lab.ts';
import { NODE, type BenchContext } from './context.ts';
import { iptablesRestoreScript } from './iptables.ts';
import { labEndpoints, writeLabCluster } from './lab-cluster.ts';
import { onCleanup, runTimed, runTimedOk } from './proc.ts';
import { renderArgs } from './render-floor.ts';
import { median } from './stats.ts';
import type { RateReport, TargetCount } from './connect-rate.ts';
import { serviceIP, type SynthOptions } from './synth.ts';

const CONNECT_RATE = fileURLToPath(new URL('./connect-rate.ts', import.meta.url));
const POD_PORT = 8080;
/** How long each target's turn lasts in a client run (bench/connect-rate.ts). */
const SLICE_MS = 250;
const SERVICE_PORT = 80;

export type TargetName = 'first' | 'last' | 'direct';

export type RateSample = TargetCount;

export interface ModeResult {
  /** wall time to load the rules into node1 (nft -f, or iptables-restore) */
  loadMs: number;
  /** connections per second, one number per round */
  rounds: Record<TargetName, number[]>;
  /** the median over rounds */
  perSecond: Record<TargetName, number>;
  /** the median over rounds of the ratio within each round (the targets of one round ran back to back) */
  ratios: { lastToFirst: number; lastToDirect: number; firstToDirect: number };
  samples: Record<TargetName, RateSample[]>;
}

export interface DataPlaneResult {
  services: number;
  endpoints: number;
  /** per target and round */
  seconds: number;
  sliceMs: number;
  parallel: number;
  targets: Record<TargetName, string>;
  sluice: ModeResult;
  iptables: ModeResult;
}

export interface DataPlaneOptions {
  sluice: string;
  config: string;
  synth: SynthOptions;
  seconds: number;
  parallel: number;
  rounds: number;
}

export async function measureDataPlane(ctx: BenchContext, o: DataPlaneOptions): Promise<DataPlaneResult> {
  ctx.progress('  building the lab (client, node1 with two pods)');
  const lab = await createLab({
    pods: [{ name: 'pa1', node: 'node1', index: 11 }, { name: 'pa2', node: 'node1', index: 12 }],
    tcpPorts: [POD_PORT],
    udpPorts: [],
  });
  const unregister = onCleanup(() => lab.destroy());
  try {
    const podIPs = lab.pods.map((p) => p.ipv4);
    const last = o.synth.services - 1;
    const targets: Record<TargetName, { hosts: string[]; port: number }> = {
      first: { hosts: [serviceIP(0)], port: SERVICE_PORT },
      last: { hosts: [serviceIP(last)], port: SERVICE_PORT },
      // Both pods, in turn: each service spreads its connections over both echo servers too.
      direct: { hosts: podIPs, port: POD_PORT },
    };
    await lab.exec(lab.client.ns, 'sh', ['-c', 'echo "1024 65535" > /proc/sys/net/ipv4/ip_local_port_range']);

    const dir = join(ctx.workDir, `lab-cluster-${o.synth.services}x${o.synth.endpoints}`);
    writeLabCluster(dir, o.synth, podIPs);
    const nftScript = join(ctx.workDir, `lab-cluster-${o.synth.services}x${o.synth.endpoints}.nft`);
    await runTimedOk(NODE, renderArgs(o.sluice, dir, o.config), { stdoutFile: nftScript, timeoutMs: 15 * 60_000 });

    ctx.progress(`  loading sluice's rules for ${o.synth.services} services into node1`);
    const nftLoad = await runTimedOk('ip', ['netns', 'exec', lab.node1.ns, 'nft', '-f', nftScript], { timeoutMs: 30 * 60_000 });
    await checkAnswers(lab, targets);
    const sluice = await measureMode(ctx, lab, targets, o, 'sluice', nftLoad.wallMs);

    ctx.progress('  removing sluice\'s tables; loading the same services as kube-proxy iptables-mode rules');
    await runTimedOk('ip', ['netns', 'exec', lab.node1.ns, 'nft', 'delete table ip sluice; delete table ip6 sluice'], { timeoutMs: 5 * 60_000 });
    // Checked before iptables-restore: listing anything once iptables-nft's 100,000 chains are in
    // takes nft longer than the whole measurement.
    const left = await runTimedOk('ip', ['netns', 'exec', lab.node1.ns, 'nft', 'list', 'tables'], { timeoutMs: 60_000 });
    if (left.stdout.trim() !== '') throw new Error(`node1 still has nftables tables: ${left.stdout}`);
    const iptablesScript = join(ctx.workDir, `lab-cluster-${o.synth.services}x${o.synth.endpoints}.iptables`);
    writeFileSync(iptablesScript, iptablesRestoreScript({ ...o.synth, endpointsOf: (i) => labEndpoints(i, o.synth, podIPs), targetPort: POD_PORT }));
    const restore = await runTimedOk('sh', ['-c', 'exec ip netns exec "$0" iptables-restore -w 60 < "$1"', lab.node1.ns, iptablesScript], { timeoutMs: 30 * 60_000 });
    await checkAnswers(lab, targets);
    const iptables = await measureMode(ctx, lab, targets, o, 'iptables', restore.wallMs);

    return {
      services: o.synth.services,
      endpoints: o.synth.endpoints,
      seconds: o.seconds,
      sliceMs: SLICE_MS,
      parallel: o.parallel,
      targets: {
        first: `${targets.first.hosts.join(',')}:${targets.first.port} (svc-0)`,
        last: `${targets.last.hosts.join(',')}:${targets.last.port} (svc-${last})`,
        direct: `${targets.direct.hosts.join(',')}:${targets.direct.port} (the pods, no service)`,
      },
      sluice,
      iptables,
    };
  } finally {
    unregister();
    await lab.destroy();
  }
}

/** Every target answers before anything is timed: otherwise the rates would measure failures. */
async function checkAnswers(lab: Lab, targets: Record<TargetName, { hosts: string[]; port: number }>): Promise<void> {
  for (const [name, t] of Object.entries(targets)) {
    for (const host of t.hosts) {
      const r = await lab.probe(lab.client, { proto: 'tcp', host, port: t.port }, { count: 4, timeoutMs: 2000 });
      if (r.answers.length !== 4) throw new Error(`target ${name} (${host}:${t.port}) does not answer: ${JSON.stringify(r)}`);
    }
  }
}

async function measureMode(ctx: BenchContext, lab: Lab, targets: Record<TargetName, { hosts: string[]; port: number }>, o: DataPlaneOptions, mode: string, loadMs: number): Promise<ModeResult> {
  const names: TargetName[] = ['first', 'last', 'direct'];
  const samples: Record<TargetName, RateSample[]> = { first: [], last: [], direct: [] };
  for (let round = 0; round < o.rounds; round++) {
    await lab.exec(lab.node1.ns, 'conntrack', ['-F']).catch(() => undefined);
    // One client run per round, the targets taking turns of SLICE_MS; each round starts with the next one.
    const order = [...names.slice(round % 3), ...names.slice(0, round % 3)];
    const args = ['netns', 'exec', lab.client.ns, NODE, CONNECT_RATE, '--seconds', String(o.seconds), '--slice-ms', String(SLICE_MS),
      '--parallel', String(o.parallel), ...order.flatMap((n) => ['--target', `${n}=${targets[n].hosts.join(',')}:${targets[n].port}`])];
    const r = await runTimed('ip', args, { timeoutMs: 3 * o.seconds * 1000 + 30_000 });
    if (r.exitCode !== 0) throw new Error(`connect-rate failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    const report = JSON.parse(r.stdout) as RateReport;
    for (const n of names) samples[n].push(report.targets[n]);
    const line = names.map((n) => {
      const t = report.targets[n];
      return `${n} ${Math.round(t.perSecond)}${t.failed + t.timedOut ? ` (${t.failed} failed, ${t.timedOut} timed out)` : ''}`;
    }).join(', ');
    ctx.progress(`  ${mode} round ${round + 1}/${o.rounds}: ${line} conn/s`);
  }
  const rounds = Object.fromEntries(names.map((n) => [n, samples[n].map((s) => s.perSecond)])) as Record<TargetName, number[]>;
  const perSecond = Object.fromEntries(names.map((n) => [n, median(rounds[n])])) as Record<TargetName, number>;
  const pairs = (a: TargetName, b: TargetName) => median(rounds[a].map((x, i) => x / rounds[b][i]));
  const ratios = { lastToFirst: pairs('last', 'first'), lastToDirect: pairs('last', 'direct'), firstToDirect: pairs('first', 'direct') };
  return { loadMs, rounds, perSecond, ratios, samples };
}
