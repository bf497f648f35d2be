// UDP and conntrack under sluice run: a datagram "connection" is a conntrack entry that keeps its
// DNAT for as long as datagrams flow, so sluice deletes the entries that point somewhere wrong after
// a sync, and only those. Checked with `conntrack -L` in node1's namespace.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { createLab, labAvailable, type Lab } from '../../lab/lab.ts';
import { run } from '../../lab/run.ts';
import { scriptInNamespace } from '../../lab/scripts.ts';
import { REAL_CONNTRACK, within } from './support/kernel.ts';
import { createWorkspace, serviceYaml, writeManifest, type Backend, type Workspace } from './support/manifests.ts';
import { killAllSluices, startSluice, type SluiceProcess } from './support/sluice-process.ts';

const available = await labAvailable();
const conntrackInstalled = (await run('sh', ['-c', 'command -v conntrack']).catch(() => ({ exitCode: 1 }))).exitCode === 0;
const skip = !available.ok ? available.reason : !conntrackInstalled ? 'conntrack is not installed' : undefined;
if (skip) console.warn(`skipping sluice run conntrack tests: ${skip}`);
const maybe = skip ? describe.skip : describe;
const skipNote = skip ? ` (skipped: ${skip})` : '';

const UDP_FLOW = fileURLToPath(new URL('./support/udp-flow.ts', import.meta.url));
const PA1: Backend = { ip: '10.244.1.11', node: 'node1' };
const PB1: Backend = { ip: '10.244.2.11', node: 'node2' };
const SERVICE_IP = '10.96.0.53';
const dns = (backends: Backend[]) => serviceYaml({ name: 'dns', clusterIP: SERVICE_IP, port: 53, targetPort: 9376, protocol: 'UDP', backends });
const POD_NAME: Record<string, string> = { [PA1.ip]: 'pa1', [PB1.ip]: 'pb1' };

interface Conditions { ready: boolean; serving: boolean; terminating: boolean }
const READY: Conditions = { ready: true, serving: true, terminating: false };
/** The dns service with endpoints in the given conditions (serviceYaml's endpoints are all ready). */
function dnsWith(backends: [Backend, Conditions][]): string {
  const endpoints = backends.map(([b, c]) => `  - { addresses: [${b.ip}], nodeName: ${b.node}, conditions: { ready: ${c.ready}, serving: ${c.serving}, terminating: ${c.terminating} } }`);
  return dns([]).replace('endpoints: []', `endpoints:\n${endpoints.join('\n')}`);
}

interface Entry { origSrc: string; origDst: string; sport: number; dport: number; replySrc: string }

/** node1's UDP conntrack entries to the service's address. */
async function entries(lab: Lab): Promise<Entry[]> {
  const r = await run('ip', ['netns', 'exec', lab.node1.ns, REAL_CONNTRACK, '-L', '-p', 'udp', '-f', 'ipv4']);
  if (r.exitCode !== 0) throw new Error(`conntrack -L: ${r.stderr}`);
  const out: Entry[] = [];
  for (const line of r.stdout.split('\n')) {
    const kv = [...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]] as const);
    const first = (k: string) => kv.find(([key]) => key === k)?.[1];
    const second = (k: string) => kv.filter(([key]) => key === k)[1]?.[1];
    if (first('dst') !== SERVICE_IP) continue;
    out.push({ origSrc: first('src')!, origDst: first('dst')!, sport: Number(first('sport')), dport: Number(first('dport')), replySrc: second('src')! });
  }
  return out;
}

/** node1's conntrack, run in its namespace. */
async function conntrackInNode1(lab: Lab, args: string[]) {
  const r = await run('ip', ['netns', 'exec', lab.node1.ns, REAL_CONNTRACK, ...args]);
  if (r.exitCode !== 0) throw new Error(`conntrack ${args.join(' ')}: ${r.stderr}`);
}

/** Flows from source ports `from`, `from + 1`, ... until some went to each pod: source port -> pod that answered. */
async function flowsToEachPod(lab: Lab, from: number): Promise<Map<number, string>> {
  const flows = new Map<number, string>();
  for (let port = from; port < from + 40; port++) {
    const answers = await udpFlow(lab, port, 1);
    if (answers[0]) flows.set(port, answers[0]);
    const pods = new Set(flows.values());
    if (pods.has('pa1') && pods.has('pb1')) return flows;
  }
  throw new Error(`40 flows did not reach both pods: ${JSON.stringify([...flows])}`);
}

/** Where node1's conntrack sends each of these flows: source port -> pod (absent: no entry). */
async function entryPods(lab: Lab, ports: Iterable<number>): Promise<Record<number, string>> {
  const es = await entries(lab);
  const out: Record<number, string> = {};
  for (const port of ports) {
    const e = es.find((x) => x.sport === port);
    if (e) out[port] = POD_NAME[e.replySrc] ?? e.replySrc;
  }
  return out;
}

/** Datagrams from one fixed source port, each waiting for its answer: which pod answered each (null: none). */
async function udpFlow(lab: Lab, sourcePort: number, count = 2): Promise<(string | null)[]> {
  const [cmd, args] = scriptInNamespace(lab.client.ns, UDP_FLOW, ['--host', SERVICE_IP, '--port', '53', '--source-port', String(sourcePort), '--count', String(count), '--timeout-ms', '700']);
  const r = await run(cmd, args, { timeoutMs: 15_000 });
  if (r.exitCode !== 0) throw new Error(`udp-flow: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

maybe(`sluice run and UDP conntrack entries${skipNote}`, () => {
  let lab: Lab;
  let ws: Workspace;
  let sluice: SluiceProcess;
  const timings: Record<string, number> = {};
  const start = () => startSluice({ ns: lab.node1.ns, args: ['--from', ws.manifests, '--config', ws.configFile] });

  beforeAll(async () => {
    lab = await createLab({ pods: [{ name: 'pa1', node: 'node1', index: 11 }, { name: 'pb1', node: 'node2', index: 11 }], tcpPorts: [9376], udpPorts: [9376] });
    ws = createWorkspace();
    writeManifest(ws.manifests, 'dns.yaml', dns([PA1, PB1]));
    sluice = start();
    await sluice.nextSync(0, 'full');
  });

  afterAll(async () => {
    await killAllSluices();
    await lab?.destroy();
    ws?.remove();
    console.log(`sluice run conntrack timings (ms): ${JSON.stringify(timings)}`);
  });

  test('when a UDP endpoint goes away, the entries pointing at it are deleted after the sync, and only those', async () => {
    const probe = await lab.probe(lab.client, { proto: 'udp', host: SERVICE_IP, port: 53 }, { count: 30 });
    expect(probe.answers).toHaveLength(30);
    const before = await entries(lab);
    const toPod = (es: Entry[], ip: string) => es.filter((e) => e.replySrc === ip).map((e) => e.sport).sort();
    expect(toPod(before, PB1.ip).length).toBeGreaterThan(0);
    expect(toPod(before, PA1.ip).length).toBeGreaterThan(0);

    const mark = sluice.logs.length;
    writeManifest(ws.manifests, 'dns.yaml', dns([PA1]));
    await sluice.nextSync(mark, 'partial');
    // sluice deletes the entries right after it logs the sync.
    timings.syncToEntriesDeleted = await within(2000, async () => expect(toPod(await entries(lab), PB1.ip)).toEqual([]));
    // The entries to the endpoint that stays are all still there.
    expect(toPod(await entries(lab), PA1.ip)).toEqual(toPod(before, PA1.ip));
    const after = await lab.probe(lab.client, { proto: 'udp', host: SERVICE_IP, port: 53 }, { count: 10 });
    expect(after.answers.map((a) => a.backend)).toEqual(Array(10).fill('pa1'));
  });

  test('a restart keeps the entries of flows that are still right, and clears one made while node1 had no rules', async () => {
    const mark = sluice.logs.length;
    writeManifest(ws.manifests, 'dns.yaml', dns([PA1, PB1]));
    await sluice.nextSync(mark, 'partial');
    // Flows that have an endpoint, from source ports 40001..40004: each keeps its endpoint.
    const flows = new Map<number, string>();
    for (let port = 40001; port <= 40004; port++) {
      const answers = await udpFlow(lab, port);
      expect(answers[0]).not.toBeNull();
      expect(answers).toEqual(Array(answers.length).fill(answers[0]));
      flows.set(port, answers[0]!);
    }

    expect(await sluice.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // A real node has other rules that use conntrack (a firewall, the CNI); without any, the kernel
    // would not track IPv4 in node1's namespace once sluice's table is gone.
    const firewall = 'add table ip firewall; add chain ip firewall forward { type filter hook forward priority 0; ct state invalid drop; }';
    expect((await lab.exec(lab.node1.ns, 'nft', [firewall])).exitCode).toBe(0);
    // Without sluice's table, a datagram to the service address is routed on un-DNATed (and loops
    // between node1 and the client until its TTL runs out): an entry that would keep the flow from
    // port 40100 away from the service even once it has rules again.
    expect((await lab.exec(lab.node1.ns, 'nft', ['delete', 'table', 'ip', 'sluice'])).exitCode).toBe(0);
    expect(await udpFlow(lab, 40100, 1)).toEqual([null]);
    const stale = (await entries(lab)).filter((e) => e.sport === 40100);
    expect(stale.map((e) => e.replySrc)).toEqual([SERVICE_IP]);

    sluice = start();
    await sluice.nextSync(0, 'full');
    timings.restartSyncToStaleDeleted = await within(2000, async () => expect((await entries(lab)).filter((e) => e.sport === 40100)).toEqual([]));
    // The flows that were right are untouched: same entry, same endpoint.
    const kept = await entries(lab);
    for (const [port, pod] of flows) {
      expect({ port, to: kept.filter((e) => e.sport === port).map((e) => POD_NAME[e.replySrc]) }).toEqual({ port, to: [pod] });
    }
    for (const [port, pod] of flows) expect({ port, answers: await udpFlow(lab, port) }).toEqual({ port, answers: [pod, pod] });
    // And the flow that had no endpoint now has one.
    expect((await udpFlow(lab, 40100, 1))[0]).not.toBeNull();
  });

  test('a stale entry made while sluice was down is deleted at start; the others are kept', async () => {
    expect(await sluice.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // The rules sluice left keep sending new flows to both pods while it is down...
    const flows = await flowsToEachPod(lab, 40201);
    // ...and pb1 is removed before it comes back: no sync of sluice's ever saw these entries.
    writeManifest(ws.manifests, 'dns.yaml', dns([PA1]));
    const toPod = (pod: string) => [...flows].filter(([, p]) => p === pod).map(([port]) => port);
    expect(await entryPods(lab, flows.keys())).toEqual(Object.fromEntries(flows));

    sluice = start();
    await sluice.nextSync(0, 'full');
    timings.startToWhileDownEntriesDeleted = await within(2000, async () => {
      expect(Object.keys(await entryPods(lab, toPod('pb1')))).toEqual([]);
    });
    const kept = await entryPods(lab, toPod('pa1'));
    expect(kept).toEqual(Object.fromEntries(toPod('pa1').map((port) => [port, 'pa1'])));
    // The flows that lost their endpoint go to the one that is left.
    for (const port of toPod('pb1')) expect({ port, answers: await udpFlow(lab, port, 1) }).toEqual({ port, answers: ['pa1'] });
  });

  // Source ports of flows that went to pb1 before it started terminating (set by the next test).
  let drainingFlows: number[] = [];

  test('a flow to a terminating endpoint that still serves survives the sync that takes it out of the rules', async () => {
    let mark = sluice.logs.length;
    writeManifest(ws.manifests, 'dns.yaml', dnsWith([[PA1, READY], [PB1, READY]]));
    await sluice.nextSync(mark, 'partial');
    const flows = await flowsToEachPod(lab, 40301);
    drainingFlows = [...flows].filter(([, p]) => p === 'pb1').map(([port]) => port);
    // A witness that the reconciler ran after the next sync: an entry DNATed to an address that is no endpoint.
    await conntrackInNode1(lab, ['-I', '-p', 'udp', '-s', '10.0.0.99', '-d', SERVICE_IP, '--sport', '40399', '--dport', '53',
      '-r', '10.244.2.99', '-q', '10.0.0.99', '--reply-port-src', '9376', '--reply-port-dst', '40399', '-t', '120']);
    expect((await entries(lab)).filter((e) => e.sport === 40399).map((e) => e.replySrc)).toEqual(['10.244.2.99']);

    mark = sluice.logs.length;
    writeManifest(ws.manifests, 'dns.yaml', dnsWith([[PA1, READY], [PB1, { ready: false, serving: true, terminating: true }]]));
    await sluice.nextSync(mark, 'partial');
    await within(2000, async () => expect((await entries(lab)).filter((e) => e.sport === 40399)).toEqual([]));
    // pb1 drains: its flows keep their entries and their answers; new flows go to pa1 only.
    expect(await entryPods(lab, drainingFlows)).toEqual(Object.fromEntries(drainingFlows.map((port) => [port, 'pb1'])));
    for (const port of drainingFlows) expect({ port, answers: await udpFlow(lab, port, 2) }).toEqual({ port, answers: ['pb1', 'pb1'] });
    const fresh = await lab.probe(lab.client, { proto: 'udp', host: SERVICE_IP, port: 53 }, { count: 10 });
    expect(fresh.answers.map((a) => a.backend)).toEqual(Array(10).fill('pa1'));
  });

  // pb1 leaves no rule behind (it was out of them already): the sync sends nothing, and the
  // reconcile after it must still run.
  test('once the terminating endpoint stops serving, its flows go, though no rule changed', async () => {
    expect(drainingFlows.length).toBeGreaterThan(0);
    writeManifest(ws.manifests, 'dns.yaml', dnsWith([[PA1, READY], [PB1, { ready: false, serving: false, terminating: true }]]));
    timings.notServingToEntriesDeleted = await within(3000, async () => expect(Object.keys(await entryPods(lab, drainingFlows))).toEqual([]));
    for (const port of drainingFlows) expect({ port, answers: await udpFlow(lab, port, 1) }).toEqual({ port, answers: ['pa1'] });
  });
});
