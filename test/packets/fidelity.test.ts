// kube-proxy's behaviour where it is easy to get wrong, with real packets (the fidelity issue): each
// of these failed before sluice matched kube-proxy.
import { join } from 'node:path';
import type { Lab } from '../../lab/lab.ts';
import { startEchoProcess } from '../../lab/echo-process.ts';
import { FIXTURES } from '../support/render-case.ts';
import { labAvailable, pod, sources, startLabCluster, tally } from './lab-cluster.ts';

const available = await labAvailable();
const maybe = available.ok ? describe : describe.skip;
const note = available.ok ? '' : ` (skipped: ${available.reason})`;

const tcp = (host: string, port: number) => ({ proto: 'tcp' as const, host, port });
const failures = (r: { answers: unknown[]; refused: number; timedOut: number; unreachable: number }) =>
  ({ answers: r.answers.length, refused: r.refused, timedOut: r.timedOut, unreachable: r.unreachable });

maybe(`fidelity with kube-proxy, lab-cluster${note}`, () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startLabCluster(); });
  afterAll(async () => { await lab?.destroy(); });

  test('1. a new connection to an unallocated address of the service CIDRs is dropped, not routed on', async () => {
    // node1's default route leads to the client; there the address is taken, so anything that got
    // through would be answered with a reset.
    await lab.exec(lab.client.ns, 'ip', ['addr', 'add', '10.96.99.99/32', 'dev', 'lo']);
    try {
      for (const from of [pod(lab, 'pa1'), lab.node1]) {
        const r = await lab.probe(from, tcp('10.96.99.99', 9376), { count: 2, timeoutMs: 800 });
        expect({ from: from.name, ...failures(r) }).toEqual({ from: from.name, answers: 0, refused: 0, timedOut: 2, unreachable: 0 });
      }
    } finally {
      await lab.exec(lab.client.ns, 'ip', ['addr', 'del', '10.96.99.99/32', 'dev', 'lo']);
    }
    // An allocated cluster IP on a port it does not define is still rejected at once.
    const undefinedPort = await lab.probe(pod(lab, 'pa1'), tcp('10.96.5.1', 81), { count: 1, timeoutMs: 800 });
    expect(failures(undefinedPort)).toMatchObject({ answers: 0, timedOut: 0 });
  });

  test('3. both policies Local: pods and the node reaching the load-balancer IP or node port get every endpoint', async () => {
    for (const from of [pod(lab, 'pa2'), lab.node1]) {
      for (const target of [tcp('198.51.100.51', 80), tcp('172.30.0.1', 30051)]) {
        const r = await lab.probe(from, target, { count: 60 });
        expect({ from: from.name, target, backends: Object.keys(tally(r)).sort() }).toEqual({ from: from.name, target, backends: ['pa1', 'pb1', 'pb2'] });
      }
    }
    // Outside traffic still keeps to this node's endpoint, and the cluster IP to the internal policy.
    const outside = await lab.probe(lab.client, tcp('198.51.100.51', 80), { count: 10 });
    expect(tally(outside)).toEqual({ pa1: 10 });
    const clusterIP = await lab.probe(pod(lab, 'pa2'), tcp('10.96.5.1', 80), { count: 10 });
    expect(tally(clusterIP)).toEqual({ pa1: 10 });
  });

  test('4. a source range holding the node\'s address lets a load-balancer IP bound on the node reach itself', async () => {
    await lab.exec(lab.node1.ns, 'ip', ['addr', 'add', '198.51.100.52/32', 'dev', 'lo']);
    try {
      // The connection's source is the load-balancer IP itself: a local destination is left from itself.
      const r = await lab.probe(lab.node1, tcp('198.51.100.52', 80), { count: 3 });
      expect(tally(r)).toEqual({ pb1: 3 });
      const denied = await lab.probe(lab.client, tcp('198.51.100.52', 80), { count: 1, timeoutMs: 800 });
      expect(failures(denied)).toEqual({ answers: 0, refused: 0, timedOut: 1, unreachable: 0 });
    } finally {
      await lab.exec(lab.node1.ns, 'ip', ['addr', 'del', '198.51.100.52/32', 'dev', 'lo']);
    }
  });

  test('7. one invalid endpoint is skipped alone: the rest of its EndpointSlice serves', async () => {
    const r = await lab.probe(pod(lab, 'pa1'), tcp('10.96.5.4', 80), { count: 5 });
    expect(tally(r)).toEqual({ pb2: 5 });
  });

  test('5. an endpoint that is terminating but serving, chosen by internal policy Local, can reach itself (hairpin)', async () => {
    const pa3 = await lab.addPod('pa3', 'node1', 13);
    const r = await lab.probe(pa3, tcp('10.96.5.3', 80), { count: 5 });
    expect(tally(r)).toEqual({ pa3: 5 });
    // Masqueraded to the node's address on the pod bridge, so the reply comes back through the node.
    expect(sources(r)).toEqual(['10.244.1.1']);
  });
});

maybe(`fidelity with kube-proxy, masqueradeAll and node ports on every address${note}`, () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startLabCluster(join(FIXTURES, 'lab-options')); });
  afterAll(async () => { await lab?.destroy(); });

  test('2. masqueradeAll marks traffic to the cluster IP, not a pod\'s short-circuit to an externalTrafficPolicy Local address', async () => {
    const me = pod(lab, 'pa2');
    for (const target of [tcp('198.51.100.3', 80), tcp('172.30.0.1', 30063)]) {
      const r = await lab.probe(me, target, { count: 40 });
      expect({ target, backends: Object.keys(tally(r)).sort(), sources: sources(r) }).toEqual({ target, backends: ['pa1', 'pb1'], sources: [me.ipv4] });
    }
    const toClusterIP = await lab.probe(me, tcp('10.96.1.3', 80), { count: 20 });
    expect(toClusterIP.answers).toHaveLength(20);
    expect(sources(toClusterIP)).not.toContain(me.ipv4);
  });

  test('8. node ports are never served on loopback, even when nodePortAddresses covers it', async () => {
    // Something of the node's own listens on 127.0.0.1 at the node port: it must be what answers.
    const own = await startEchoProcess(lab.node1.ns, 'node1-own', [30063], []);
    try {
      const r = await lab.probe(lab.node1, tcp('127.0.0.1', 30063), { count: 5 });
      expect(tally(r)).toEqual({ 'node1-own': 5 });
      // The node's other addresses serve the node port as configured.
      const lan = await lab.probe(lab.client, tcp('172.30.0.1', 30063), { count: 5 });
      expect(tally(lan)).toEqual({ pa1: 5 });
    } finally {
      await own.stop();
    }
  });
});
