// The demo's steps once sluice runs on node1: traffic to each service, then live edits of
// my-service's EndpointSlice, each with the transaction sluice sent and the traffic after it.
import { join } from 'node:path';
import type { Lab, LabPod } from '../lab/lab.ts';
import { gatewayAddresses } from '../lab/topology.ts';
import { rewriteSlice, service, SLICE_FILE, type DemoEndpoint, type DemoService, type Example } from './example.ts';
import type { LogLine, SluiceProcess } from './sluice-process.ts';
import { answerTable } from './table.ts';

export const CONNECTIONS = 100;
/** Pods the demo adds to my-service when it scales it to five. */
export const NEW_PODS = [
  { name: 'myapp-4', node: 'node2', index: 12 },
  { name: 'myapp-5', node: 'node1', index: 13 },
] as const;
/** The pod the demo marks not ready. */
export const NOT_READY_POD = 'myapp-2';
const SYNC_TIMEOUT_MS = 10_000;
const MAX_TRANSACTION_LINES = 40;

export interface DemoContext {
  out: (line: string) => void;
  lab: Lab;
  sluice: SluiceProcess;
  /** The copy of examples/demo that sluice watches. */
  dir: string;
  example: Example;
  /** Marks a step that changes the lab (adding pods): clean-up waits for it before removing namespaces. */
  track<T>(step: Promise<T>): Promise<T>;
}

export function heading(out: (line: string) => void, text: string): void {
  out('');
  out(`== ${text}`);
}

interface Target {
  label: string;
  host: string;
  port: number;
}

export function targetsOf(s: DemoService, nodeIP: string): Target[] {
  const targets: Target[] = [{ label: 'cluster IP', host: s.clusterIP, port: s.port }];
  if (s.nodePort !== undefined) targets.push({ label: 'node port', host: nodeIP, port: s.nodePort });
  for (const ip of s.loadBalancerIPs) targets.push({ label: 'load balancer', host: ip, port: s.port });
  return targets;
}

/** CONNECTIONS new TCP connections from the client to the target, and who answered. */
async function probeAndShow(ctx: DemoContext, t: Target, endpoints: DemoEndpoint[]): Promise<void> {
  const r = await ctx.lab.probe(ctx.lab.client, { proto: 'tcp', host: t.host, port: t.port }, { count: CONNECTIONS, timeoutMs: 1000 });
  ctx.out(`  -> ${t.label} ${t.host}:${t.port}`);
  for (const line of answerTable(r, endpoints)) ctx.out(`     ${line}`);
}

async function showService(ctx: DemoContext, s: DemoService, targets: Target[], note: string): Promise<void> {
  for (const t of targets) await probeAndShow(ctx, t, s.endpoints);
  if (note) ctx.out(`  ${note}`);
}

export async function showMyService(ctx: DemoContext): Promise<void> {
  const s = service(ctx.example, 'my-service');
  heading(ctx.out, `my-service (${s.type}, ${s.endpoints.length} pods): ${CONNECTIONS} new TCP connections from the client (${ctx.lab.client.ipv4}) to each address`);
  await showService(ctx, s, targetsOf(s, ctx.lab.node1.ipv4),
    `The client is outside the cluster CIDR, so sluice masquerades: node1's pods see its pod-bridge address ${gatewayAddresses('node1').ipv4}, node2's pods its LAN address ${ctx.lab.node1.ipv4}.`);
}

export async function showLocalPolicy(ctx: DemoContext): Promise<void> {
  const s = service(ctx.example, 'edge');
  heading(ctx.out, `edge (${s.type}, externalTrafficPolicy Local): ${CONNECTIONS} connections from the client to node1's node port`);
  const nodePort = targetsOf(s, ctx.lab.node1.ipv4).filter((t) => t.label === 'node port');
  await showService(ctx, s, nodePort, 'Only the pod on node1, the node the traffic arrived at, and it sees the client\'s own address.');
}

export async function showAffinity(ctx: DemoContext): Promise<void> {
  const s = service(ctx.example, 'sticky');
  heading(ctx.out, `sticky (${s.type}, sessionAffinity ClientIP): ${CONNECTIONS} connections from the client to its cluster IP`);
  await showService(ctx, s, targetsOf(s, ctx.lab.node1.ipv4).slice(0, 1), 'One pod gets every connection: sluice remembers the client\'s address.');
}

/** Rewrites my-service's EndpointSlice in the watched folder and shows the edit and the sync sluice made of it. */
async function editSlice(ctx: DemoContext, endpoints: DemoEndpoint[], comment: string): Promise<void> {
  const from = ctx.sluice.lines.length;
  const edit = rewriteSlice(join(ctx.dir, SLICE_FILE), endpoints, comment);
  ctx.out(`  edit ${SLICE_FILE} (endpoints):`);
  for (const l of edit.removed) ctx.out(`    - ${l.trim()}`);
  for (const l of edit.added) ctx.out(`    + ${l.trim()}`);
  const isSync = (l: LogLine) => l.msg === 'partial sync' || l.msg === 'full sync' || l.level === 'error';
  const { line, index } = await ctx.sluice.waitFor('sync after the edit', isSync, from, SYNC_TIMEOUT_MS);
  if (line.level === 'error') throw new Error(`sluice failed to sync the edit:\n${ctx.sluice.tail()}`);
  const f = line.fields;
  ctx.out(`  sluice noticed the change and sent a ${f.kind} transaction: ${f.lines} lines, ${f.durationMs} ms`);
  const tx = ctx.sluice.lines.slice(from, index).filter((l) => l.msg === 'partial sync transaction').pop();
  const text = typeof tx?.fields.transaction === 'string' ? tx.fields.transaction : undefined;
  if (text === undefined) {
    ctx.out('  (its text is in sluice\'s debug log only for partial syncs)');
    return;
  }
  const lines = text.trimEnd().split('\n');
  for (const l of lines.slice(0, MAX_TRANSACTION_LINES)) ctx.out(`    | ${l.replaceAll('\t', '  ')}`);
  if (lines.length > MAX_TRANSACTION_LINES) ctx.out(`    | ... ${lines.length - MAX_TRANSACTION_LINES} more lines`);
}

function endpointOf(pod: LabPod): DemoEndpoint {
  return { pod: pod.name, node: pod.node, address: pod.ipv4, ready: true };
}

export async function scaleUp(ctx: DemoContext): Promise<DemoEndpoint[]> {
  const s = service(ctx.example, 'my-service');
  heading(ctx.out, `Scale my-service to ${s.endpoints.length + NEW_PODS.length} pods: start ${NEW_PODS.map((p) => p.name).join(' and ')}, then edit the EndpointSlice while sluice runs`);
  const pods = await ctx.track(Promise.all(NEW_PODS.map((p) => ctx.lab.addPod(p.name, p.node, p.index))));
  ctx.out(`  new pods: ${pods.map((p) => `${p.name} on ${p.node} (${p.ipv4})`).join(', ')}`);
  const endpoints = [...s.endpoints, ...pods.map(endpointOf)];
  await editSlice(ctx, endpoints, `Scaled by the sluice demo to ${endpoints.length} pods.`);
  await probeAndShow(ctx, targetsOf(s, ctx.lab.node1.ipv4)[0], endpoints);
  return endpoints;
}

export async function markNotReady(ctx: DemoContext, before: DemoEndpoint[]): Promise<void> {
  const s = service(ctx.example, 'my-service');
  heading(ctx.out, `Mark ${NOT_READY_POD} not ready (conditions.ready: false), as when its readiness probe fails`);
  const endpoints = before.map((e) => (e.pod === NOT_READY_POD ? { ...e, ready: false } : e));
  await editSlice(ctx, endpoints, `${NOT_READY_POD} marked not ready by the sluice demo.`);
  await probeAndShow(ctx, targetsOf(s, ctx.lab.node1.ipv4)[0], endpoints);
  ctx.out(`  ${NOT_READY_POD} stays in the EndpointSlice but gets no new connections.`);
}

/** A few lines of sluice's metrics, read inside node1's namespace. */
export async function metricsSummary(ctx: DemoContext, url: string, node: string): Promise<string | undefined> {
  const script = `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const r = await ctx.lab.exec(ctx.lab.node1.ns, node, ['-e', script]);
  if (r.exitCode !== 0) return undefined;
  const value = (series: string) => r.stdout.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? '?';
  return [
    `services ${value('sluice_services_programmed')}`,
    `endpoints ${value('sluice_endpoints_programmed')}`,
    `full syncs ${value('sluice_transaction_lines_count{sync="full"}')}`,
    `partial syncs ${value('sluice_transaction_lines_count{sync="partial"}')}`,
  ].join(', ');
}
