// internalTrafficPolicy and session affinity with real packets (behaviours 8 and 9).
import type { Lab } from '../../lab/lab.ts';
import { labAvailable, pod, startLabCluster, tally } from './lab-cluster.ts';

const available = await labAvailable();
const maybe = available.ok ? describe : describe.skip;

maybe('internal traffic policy and session affinity', () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startLabCluster(); });
  afterAll(async () => { await lab?.destroy(); });

  test('8. internalTrafficPolicy Local: pods reach only this node\'s endpoints', async () => {
    const r = await lab.probe(pod(lab, 'pa2'), { proto: 'tcp', host: '10.96.2.1', port: 80 }, { count: 20 });
    expect(tally(r)).toEqual({ pa1: 20 });
  });

  test('8. internalTrafficPolicy Local without a local endpoint: dropped', async () => {
    const r = await lab.probe(pod(lab, 'pa2'), { proto: 'tcp', host: '10.96.2.2', port: 80 }, { count: 2 });
    expect({ answers: r.answers, refused: r.refused, timedOut: r.timedOut }).toEqual({ answers: [], refused: 0, timedOut: 2 });
  });

  test('9. ClientIP affinity: each client keeps the endpoint it first got', async () => {
    for (const from of [lab.client, pod(lab, 'pa1'), pod(lab, 'pa2'), lab.node1]) {
      const r = await lab.probe(from, { proto: 'tcp', host: '10.96.2.3', port: 80 }, { count: 15 });
      const backends = Object.keys(tally(r));
      expect({ from: from.name, answers: r.answers.length, backends: backends.length }).toEqual({ from: from.name, answers: 15, backends: 1 });
    }
    const sets = await lab.exec(lab.node1.ns, 'nft', ['list', 'set', 'ip', 'sluice', `aff/lab/sticky/tcp/80/${'10.244.1.11'}_9376`]);
    expect(sets.stdout).toContain('timeout 5m');
  });
});
