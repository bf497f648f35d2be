// Maglev with real packets: node1 and node2 each load the rules sluice renders for them, for the same
// endpoints. Flows with fixed source ports (test/packets/maglev/prober.ts) must land on the same
// endpoint through either node and either front (load-balancer IP, each node's node port), on the
// endpoint the plan's table and the kernel's jhash say (kernel-jhash.ts); after one of five endpoints
// goes, about a fifth of the flows move.
import { createLab, labAvailable, type Lab } from '../../lab/lab.ts';
import { run } from '../../lab/run.ts';
import { scriptInNamespace } from '../../lab/scripts.ts';
import { MAGLEV_SEED } from '../../lib/plan/maglev-map.ts';
import { ECHO_PORT, LB_IP, LB_IP6, NODE_PORT, PODS, renderFor, SERVICE_PORT, type Rendered } from './maglev/cluster.ts';
import { kernelSlot } from './maglev/kernel-jhash.ts';

const available = await labAvailable();
const maybe = available.ok ? describe : describe.skip;
if (!available.ok) console.log(`skipped: Maglev packet tests need the lab (${available.reason})`);

const PROBER = new URL('./maglev/prober.ts', import.meta.url).pathname;
const CLIENT = '172.30.0.100';
const CLIENT6 = 'fd00:30::100';
type Flows = Record<string, string | null>;

maybe('Maglev through two nodes', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ pods: PODS, tcpPorts: [ECHO_PORT], udpPorts: [ECHO_PORT], extraRoutes: [`${LB_IP}/32`, `${LB_IP6}/128`] });
  }, 60_000);
  afterAll(async () => { await lab?.destroy(); });

  /** Each node loads its own rendering, and forgets its flows (UDP conntrack entries would keep the old choice). */
  async function load(pods = PODS): Promise<Record<'node1' | 'node2', Rendered>> {
    const out = { node1: renderFor('node1', pods), node2: renderFor('node2', pods) };
    for (const node of [lab.node1, lab.node2]) {
      const r = await lab.exec(node.ns, 'nft', ['-f', '-'], out[node.name as 'node1' | 'node2'].script);
      if (r.exitCode !== 0) throw new Error(`nft -f in ${node.name}: ${r.stderr}`);
      await lab.exec(node.ns, 'conntrack', ['-F']);
    }
    return out;
  }

  /** The client's route to the load-balancer IP: which node the "routers" send it to. */
  async function routeVia(node: 'node1' | 'node2') {
    const n = node === 'node1' ? lab.node1 : lab.node2;
    for (const args of [['route', 'replace', `${LB_IP}/32`, 'via', n.ipv4], ['-6', 'route', 'replace', `${LB_IP6}/128`, 'via', n.ipv6]]) {
      const r = await lab.exec(lab.client.ns, 'ip', args);
      if (r.exitCode !== 0) throw new Error(r.stderr);
    }
  }

  async function probe(proto: 'tcp' | 'udp', host: string, port: number, sports: string): Promise<Flows> {
    const [cmd, args] = scriptInNamespace(lab.client.ns, PROBER, ['--proto', proto, '--host', host, '--port', String(port), '--sports', sports]);
    const r = await run(cmd, args, { timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new Error(`prober: ${r.stderr}`);
    return JSON.parse(r.stdout) as Flows;
  }

  const predicted = (rendered: Rendered, proto: 'tcp' | 'udp' | 'tcp6', flows: Flows): Flows =>
    Object.fromEntries(Object.keys(flows).map((p) => [p, rendered.slots[proto][kernelSlot(proto === 'tcp6' ? CLIENT6 : CLIENT, Number(p), rendered.tableSize, Number(MAGLEV_SEED))]]));

  test('both nodes plan the same table for the same endpoints', async () => {
    const r = await load();
    expect(r.node2.slots).toEqual(r.node1.slots);
    expect(new Set(r.node1.slots.tcp)).toEqual(new Set(PODS.map((p) => p.name)));
  }, 60_000);

  test.each(['tcp', 'udp'] as const)('%s: each flow lands on one endpoint through node1, node2, the load-balancer IP and both node ports, the one the table says', async (proto) => {
    const r = await load();
    const sports = proto === 'tcp' ? '41000-41149' : '42000-42149';
    await routeVia('node1');
    const viaNode1 = await probe(proto, LB_IP, SERVICE_PORT, sports);
    await routeVia('node2');
    const viaNode2 = await probe(proto, LB_IP, SERVICE_PORT, sports);
    const nodePort1 = await probe(proto, lab.node1.ipv4, NODE_PORT, sports);
    const nodePort2 = await probe(proto, lab.node2.ipv4, NODE_PORT, sports);
    await routeVia('node1');
    expect(Object.values(viaNode1).filter((b) => b === null)).toEqual([]);
    expect(viaNode2).toEqual(viaNode1);
    expect(nodePort1).toEqual(viaNode1);
    expect(nodePort2).toEqual(viaNode1);
    expect(viaNode1).toEqual(predicted(r.node1, proto, viaNode1));
    // Every endpoint gets some of 150 flows (each should get about 30).
    const per = new Map<string, number>();
    for (const b of Object.values(viaNode1)) per.set(b!, (per.get(b!) ?? 0) + 1);
    expect([...per.keys()].sort()).toEqual(PODS.map((p) => p.name).sort());
    console.log(`maglev ${proto}: flows per endpoint of 150 ${JSON.stringify(Object.fromEntries([...per].sort()))}`);
  }, 180_000);

  test('IPv6: flows land on one endpoint through node1, node2 and both node ports, the one the IPv6 table says', async () => {
    const r = await load();
    const sports = '44000-44099';
    await routeVia('node1');
    const viaNode1 = await probe('tcp', LB_IP6, SERVICE_PORT, sports);
    await routeVia('node2');
    const viaNode2 = await probe('tcp', LB_IP6, SERVICE_PORT, sports);
    const nodePort1 = await probe('tcp', lab.node1.ipv6, NODE_PORT, sports);
    const nodePort2 = await probe('tcp', lab.node2.ipv6, NODE_PORT, sports);
    await routeVia('node1');
    expect(Object.values(viaNode1).filter((b) => b === null)).toEqual([]);
    expect(viaNode2).toEqual(viaNode1);
    expect(nodePort1).toEqual(viaNode1);
    expect(nodePort2).toEqual(viaNode1);
    expect(viaNode1).toEqual(predicted(r.node1, 'tcp6', viaNode1));
    expect(new Set(Object.values(viaNode1))).toEqual(new Set(PODS.map((p) => p.name)));
  }, 180_000);

  test('one of five endpoints goes: its flows move, about a fifth of all flows; it comes back: every flow returns where it was', async () => {
    const sports = '43000-43399';
    const n = 400;
    await load();
    await routeVia('node1');
    const before = await probe('udp', LB_IP, SERVICE_PORT, sports);
    const gone = 'pb3';
    const without = await load(PODS.filter((p) => p.name !== gone));
    await routeVia('node2');
    const after = await probe('udp', LB_IP, SERVICE_PORT, sports);
    expect(after).toEqual(predicted(without.node2, 'udp', after));
    let moved = 0, movedOthers = 0, wasOnGone = 0;
    for (const p of Object.keys(before)) {
      expect(after[p]).not.toBe(gone);
      if (before[p] === gone) wasOnGone++;
      if (after[p] !== before[p]) { moved++; if (before[p] !== gone) movedOthers++; }
    }
    await load();
    await routeVia('node1');
    const back = await probe('udp', LB_IP, SERVICE_PORT, sports);
    expect(back).toEqual(before);
    console.log(`maglev removal of 1 of 5: ${moved}/${n} flows moved (${(100 * moved / n).toFixed(1)}%), ${wasOnGone} were on ${gone}, ${movedOthers} of the others moved; restored: all ${n} flows back where they were`);
    expect(moved).toBeGreaterThanOrEqual(wasOnGone);
    expect(moved / n).toBeGreaterThan(0.2 - 0.07);
    expect(moved / n).toBeLessThan(0.2 + 0.07);
    expect(movedOthers / n).toBeLessThan(0.05);
  }, 240_000);
});
