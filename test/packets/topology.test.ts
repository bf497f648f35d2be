// Topology-aware routing with real packets: lab's two nodes in two zones (rules-fixtures/topology:
// node1, which runs the rules, in zone-a; node2 in zone-b). Which pods answer shows which hints
// the rules followed; the hints deliberately differ from the pods' nodes so the two cannot be confused.
import { join } from 'node:path';
import type { Lab } from '../../lab/lab.ts';
import { FIXTURES } from '../support/render-case.ts';
import { labAvailable, pod, startLabCluster, tally } from './lab-cluster.ts';

const TOPOLOGY_CASE = join(FIXTURES, 'topology');

const available = await labAvailable();
if (!available.ok) console.warn(`skipping topology packet tests: ${available.reason}`);
const maybe = available.ok ? describe : describe.skip;

// The packet tests' lab (lab-cluster.ts), with the topology case's rules on node1.
const startTopologyLab = () => startLabCluster(TOPOLOGY_CASE);

const tcp = (host: string, port = 80) => ({ proto: 'tcp' as const, host, port });
// 40 draws between two equally likely backends all landing on one: about once in 10^12 runs.
const COUNT = 40;

maybe(`topology hints (${available.ok ? 'node1 in zone-a' : 'skipped: ' + available.reason})`, () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startTopologyLab(); });
  afterAll(async () => { await lab?.destroy(); });

  const backends = async (from: Parameters<Lab['probe']>[0], target: ReturnType<typeof tcp>) => {
    const r = await lab.probe(from, target, { count: COUNT });
    expect({ answers: r.answers.length, refused: r.refused, timedOut: r.timedOut }).toEqual({ answers: COUNT, refused: 0, timedOut: 0 });
    return Object.keys(tally(r)).sort();
  };

  test('PreferSameZone: connections to the cluster IP reach only the endpoints hinted for zone-a, from outside, a pod and the node', async () => {
    for (const from of [lab.client, pod(lab, 'pa2'), lab.node1]) {
      expect({ from: from.name, backends: await backends(from, tcp('10.96.7.1')) }).toEqual({ from: from.name, backends: ['pa1', 'pb1'] });
    }
  });

  test('one endpoint without a hint: every endpoint is used', async () => {
    expect(await backends(lab.client, tcp('10.96.7.2'))).toEqual(['pa1', 'pa2', 'pb1', 'pb2']);
  });

  test('PreferSameNode: only the endpoints hinted for node1, though zone-a\'s hints take one more', async () => {
    expect(await backends(lab.client, tcp('10.96.7.3'))).toEqual(['pa1', 'pa2']);
  });

  test('PreferSameNode with no endpoint for node1: the zone hints decide', async () => {
    const r = await lab.probe(lab.client, tcp('10.96.7.4'), { count: 20 });
    expect(tally(r)).toEqual({ pb1: 20 });
  });

  test('no endpoint ready: the serving-terminating ones, whatever their hints', async () => {
    expect(await backends(lab.client, tcp('10.96.7.8'))).toEqual(['pa1', 'pb1']);
  });

  test('externalTrafficPolicy Cluster: outside traffic to a node port follows the hints', async () => {
    expect(await backends(lab.client, tcp('172.30.0.1', 30071))).toEqual(['pa2', 'pb1']);
  });

  test('externalTrafficPolicy Local: outside traffic reaches node1\'s endpoints, hints ignored; the node itself short-circuits by the hints', async () => {
    expect(await backends(lab.client, tcp('172.30.0.1', 30072))).toEqual(['pa1', 'pa2']);
    expect(await backends(lab.node1, tcp('172.30.0.1', 30072))).toEqual(['pa2', 'pb1']);
  });
});
