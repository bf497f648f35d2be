// IPv6 and dual stack with real packets (behaviour 13).
import type { Lab } from '../../lab/lab.ts';
import { labAvailable, pod, sources, startLabCluster, tally } from './lab-cluster.ts';

const available = await labAvailable();
const maybe = available.ok ? describe : describe.skip;

maybe('IPv6 and dual stack', () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startLabCluster(); });
  afterAll(async () => { await lab?.destroy(); });

  test('13. a dual-stack service answers on both cluster IPs, each family with its own endpoints', async () => {
    const v4 = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.3.1', port: 80 }, { count: 20 });
    expect(Object.keys(tally(v4)).sort()).toEqual(['pa1', 'pb1']);
    const v6 = await lab.probe(lab.client, { proto: 'tcp', host: 'fd00:96::3:1', port: 80 }, { count: 20 });
    expect(Object.keys(tally(v6)).sort()).toEqual(['pa2', 'pb2']);
    expect(sources(v6)).toEqual(['fd00:244:1::1', 'fd00:30::1']);
  });

  test('13. IPv6 from a pod of this node keeps the pod\'s address', async () => {
    const r = await lab.probe(pod(lab, 'pa1'), { proto: 'tcp', host: 'fd00:96::3:1', port: 80 }, { count: 20 });
    expect(Object.keys(tally(r)).sort()).toEqual(['pa2', 'pb2']);
    expect(sources(r)).toEqual(['fd00:244:1::11']);
  });

  test('13. IPv6 node port and load-balancer IP', async () => {
    for (const host of ['fd00:30::1', '2001:db8:1b::70']) {
      const port = host === 'fd00:30::1' ? 30070 : 80;
      const r = await lab.probe(lab.client, { proto: 'tcp', host, port }, { count: 20 });
      expect({ host, backends: Object.keys(tally(r)).sort() }).toEqual({ host, backends: ['pa2', 'pb2'] });
    }
  });

  test('13. an IPv6 service without endpoints rejects', async () => {
    const r = await lab.probe(lab.client, { proto: 'tcp', host: 'fd00:96::3:2', port: 80 }, { count: 2 });
    expect(r.refused).toBe(2);
  });
});
