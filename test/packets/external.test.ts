// Traffic from outside the cluster with real packets: node ports, load-balancer and external IPs,
// source ranges, externalTrafficPolicy (behaviours 4-7 and 12 of the render issue).
import type { Lab } from '../../lab/lab.ts';
import { labAvailable, pod, sources, startLabCluster, tally } from './lab-cluster.ts';

const available = await labAvailable();
const maybe = available.ok ? describe : describe.skip;

maybe('node ports, load-balancer and external IPs', () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startLabCluster(); });
  afterAll(async () => { await lab?.destroy(); });

  const tcp = (host: string, port: number) => ({ proto: 'tcp' as const, host, port });

  test('4. a NodePort answers on the node\'s address, from outside and from the node itself', async () => {
    for (const from of [lab.client, lab.node1]) {
      const r = await lab.probe(from, tcp('172.30.0.1', 30061), { count: 30 });
      expect(r.answers).toHaveLength(30);
      expect(Object.keys(tally(r)).sort()).toEqual(['pa1', 'pb1']);
    }
  });

  test('4. a NodePort is served only on nodePortAddresses: not on node1\'s pod bridge address', async () => {
    const r = await lab.probe(lab.client, tcp('10.244.1.1', 30061), { count: 1, timeoutMs: 800 });
    expect(r.answers).toEqual([]);
  });

  test('5. load-balancer ingress IPs and external IPs answer; an ingress with ipMode Proxy gets no rule', async () => {
    for (const host of ['146.148.47.155', '203.0.113.10']) {
      const r = await lab.probe(lab.client, tcp(host, 80), { count: 20 });
      expect({ host, answers: r.answers.length }).toEqual({ host, answers: 20 });
      expect(Object.keys(tally(r)).sort()).toEqual(['pa1', 'pb1']);
    }
    const proxied = await lab.probe(lab.client, tcp('198.51.100.99', 80), { count: 1, timeoutMs: 800 });
    expect(proxied.answers).toEqual([]);
  });

  test('6. loadBalancerSourceRanges: listed sources reach the load-balancer IP, others are dropped', async () => {
    await lab.exec(lab.client.ns, 'ip', ['addr', 'add', '172.30.0.101/24', 'dev', 'eth0']);
    const allowed = await lab.probe(lab.client, tcp('198.51.100.2', 80), { count: 3, source: '172.30.0.100' });
    expect(tally(allowed)).toEqual({ pb1: 3 });
    const denied = await lab.probe(lab.client, tcp('198.51.100.2', 80), { count: 2, source: '172.30.0.101' });
    expect({ answers: denied.answers, refused: denied.refused, timedOut: denied.timedOut }).toEqual({ answers: [], refused: 0, timedOut: 2 });
    // The ranges guard the load-balancer IP only; the node port stays open, as in kube-proxy.
    const nodePort = await lab.probe(lab.client, tcp('172.30.0.1', 30062), { count: 1, source: '172.30.0.101' });
    expect(tally(nodePort)).toEqual({ pb1: 1 });
  });

  test('7. externalTrafficPolicy Local: outside traffic goes only to this node\'s endpoint and keeps its source', async () => {
    for (const target of [tcp('172.30.0.1', 30063), tcp('198.51.100.3', 80)]) {
      const r = await lab.probe(lab.client, target, { count: 20 });
      expect(r.answers).toEqual(Array(20).fill({ backend: 'pa1', sawSource: '172.30.0.100', port: 9376 }));
    }
  });

  test('7. externalTrafficPolicy Local: pods and the node itself still reach every endpoint', async () => {
    for (const from of [pod(lab, 'pa2'), lab.node1]) {
      const r = await lab.probe(from, tcp('172.30.0.1', 30063), { count: 40 });
      expect({ from: from.name, backends: Object.keys(tally(r)).sort() }).toEqual({ from: from.name, backends: ['pa1', 'pb1', 'pb2'] });
    }
  });

  test('7. externalTrafficPolicy Local without a local endpoint: outside traffic is dropped, the node still gets through', async () => {
    const outside = await lab.probe(lab.client, tcp('172.30.0.1', 30064), { count: 2 });
    expect({ answers: outside.answers, refused: outside.refused, timedOut: outside.timedOut }).toEqual({ answers: [], refused: 0, timedOut: 2 });
    const fromNode = await lab.probe(lab.node1, tcp('172.30.0.1', 30064), { count: 3 });
    expect(tally(fromNode)).toEqual({ pb1: 3 });
  });

  test('12. externalTrafficPolicy Cluster masquerades outside traffic, so replies from the other node come back', async () => {
    const r = await lab.probe(lab.client, tcp('146.148.47.155', 80), { count: 30 });
    expect(r.answers).toHaveLength(30);
    expect(sources(r)).toEqual(['10.244.1.1', '172.30.0.1']);
  });
});
