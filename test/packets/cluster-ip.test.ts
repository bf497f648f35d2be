// Cluster IPs with real packets: random choice among endpoints, named target ports, protocols,
// endpoint conditions, rejects, masquerade and hairpin (behaviours 1-3, 10-12, 14 of the render issue).
import { join } from 'node:path';
import { loadConfigFile } from '../../lib/config/kube-proxy-config.ts';
import type { Lab } from '../../lab/lab.ts';
import { recordingLogger } from '../../lib/log.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import { renderStore } from '../../lib/render.ts';
import { LAB_CASE, labAvailable, pod, sources, startLabCluster, tally } from './lab-cluster.ts';

const available = await labAvailable();
if (!available.ok) console.warn(`skipping packet tests: ${available.reason}`);
const maybe = available.ok ? describe : describe.skip;

maybe('cluster IPs', () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startLabCluster(); });
  afterAll(async () => { await lab?.destroy(); });

  const spread = { proto: 'tcp' as const, host: '10.96.0.1', port: 80 };

  test('1. every endpoint answers, at random, for a client outside the cluster, a pod and the node', async () => {
    for (const from of [lab.client, pod(lab, 'pa2'), lab.node1]) {
      const r = await lab.probe(from, spread, { count: 80 });
      expect({ from: from.name, ...r, answers: r.answers.length }).toEqual({ from: from.name, answers: 80, refused: 0, timedOut: 0, unreachable: 0, errors: [] });
      const t = tally(r);
      expect(Object.keys(t).sort()).toEqual(['pa1', 'pa2', 'pb1', 'pb2']);
      // 80 draws of four equally likely backends: each gets 20 on average, fewer than 5 about once in 10^5 runs.
      for (const n of Object.values(t)) expect(n).toBeGreaterThanOrEqual(5);
    }
  });

  test('2. a named targetPort reaches each EndpointSlice\'s own port', async () => {
    const r = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.0.2', port: 80 }, { count: 40 });
    expect(r.answers).toHaveLength(40);
    const portByPod: Record<string, number> = { pa1: 8080, pb1: 8080, pa2: 9376 };
    for (const a of r.answers) expect(a.port).toBe(portByPod[a.backend]);
    expect(Object.keys(tally(r)).sort()).toEqual(['pa1', 'pa2', 'pb1']);
  });

  test('3. TCP and UDP on several ports of one service', async () => {
    const http = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.0.3', port: 80 }, { count: 10 });
    expect(http.answers.map((a) => a.port)).toEqual(Array(10).fill(9376));
    const alt = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.0.3', port: 8000 }, { count: 10 });
    expect(alt.answers.map((a) => a.port)).toEqual(Array(10).fill(8080));
    const dns = await lab.probe(pod(lab, 'pa2'), { proto: 'udp', host: '10.96.0.3', port: 53 }, { count: 20 });
    expect(dns.answers).toHaveLength(20);
    expect(Object.keys(tally(dns)).sort()).toEqual(['pa1', 'pb1']);
  });

  test('3. SCTP is dispatched like TCP and UDP (this kernel has no SCTP sockets to send with)', async () => {
    const map = await lab.exec(lab.node1.ns, 'nft', ['list', 'map', 'ip', 'sluice', 'service-ips']);
    expect(map.stdout).toMatch(/10\.96\.0\.3 \. sctp \. 9999 : goto svc\/lab\/multi\/sctp\/assoc/);
    const chain = await lab.exec(lab.node1.ns, 'nft', ['list', 'chain', 'ip', 'sluice', 'svc/lab/multi/sctp/assoc']);
    expect(chain.stdout).toContain('meta l4proto sctp dnat to 10.244.1.11:9376');
    expect(chain.stdout).toContain('meta l4proto sctp dnat to 10.244.2.11:9376');
  });

  test('10. only ready endpoints serve; with none ready, serving-and-terminating ones do; never a not-serving one', async () => {
    const ready = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.0.4', port: 80 }, { count: 20 });
    expect(tally(ready)).toEqual({ pa1: 20 });
    const terminating = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.0.5', port: 80 }, { count: 20 });
    expect(tally(terminating)).toEqual({ pb1: 20 });
  });

  test('11. a service without endpoints rejects on every address and port, TCP with a reset and UDP with ICMP', async () => {
    const targets = [
      { proto: 'tcp' as const, host: '10.96.0.6', port: 80 },
      { proto: 'udp' as const, host: '10.96.0.6', port: 53 },
      { proto: 'tcp' as const, host: '172.30.0.1', port: 30066 },
      { proto: 'udp' as const, host: '172.30.0.1', port: 30066 },
      { proto: 'tcp' as const, host: '198.51.100.6', port: 80 },
    ];
    for (const t of targets) {
      const r = await lab.probe(lab.client, t, { count: 2 });
      expect({ t, refused: r.refused }).toEqual({ t, refused: 2 });
    }
    for (const from of [pod(lab, 'pa1'), lab.node1]) {
      expect((await lab.probe(from, targets[0], { count: 2 })).refused).toBe(2);
    }
  });

  test('11. a cluster IP rejects ports its service does not define', async () => {
    for (const from of [lab.client, pod(lab, 'pa1'), lab.node1]) {
      const r = await lab.probe(from, { proto: 'tcp', host: '10.96.0.1', port: 81 }, { count: 2 });
      expect({ from: from.name, refused: r.refused }).toEqual({ from: from.name, refused: 2 });
    }
  });

  test('12. traffic from outside the cluster is masqueraded; pod traffic keeps the pod\'s address', async () => {
    const outside = await lab.probe(lab.client, spread, { count: 40 });
    expect(sources(outside)).toEqual(['10.244.1.1', '172.30.0.1']);
    const fromPod = await lab.probe(pod(lab, 'pa2'), spread, { count: 40 });
    expect(Object.keys(tally(fromPod)).sort()).toEqual(['pa1', 'pa2', 'pb1', 'pb2']);
    // pa2 reaching itself is hairpin traffic, masqueraded to the node (next test); every other backend sees pa2.
    for (const a of fromPod.answers) expect([a.backend, a.sawSource]).toEqual([a.backend, a.backend === 'pa2' ? '10.244.1.1' : '10.244.1.12']);
  });

  test('12. hairpin: a pod reaching itself through its service is masqueraded, so its reply comes back', async () => {
    const r = await lab.probe(pod(lab, 'pa1'), { proto: 'tcp', host: '10.96.0.7', port: 80 }, { count: 5 });
    expect(r.answers).toEqual(Array(5).fill({ backend: 'pa1', sawSource: '10.244.1.1', port: 9376 }));
  });

  test('14. headless, ExternalName and other proxies\' services get no rules', async () => {
    const r = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.0.8', port: 80 }, { count: 1 });
    expect(r.answers).toEqual([]);
    expect(r.refused).toBe(0);
    const ruleset = await lab.exec(lab.node1.ns, 'nft', ['list', 'ruleset']);
    expect(ruleset.stdout).not.toMatch(/\/lab\/(not-ours|headless|elsewhere)\//);
    expect(ruleset.stdout).toContain('/lab/local-elsewhere/');
  });

  test('12. masqueradeAll: pod traffic to a cluster IP is masqueraded too', async () => {
    const config = { ...loadConfigFile(join(LAB_CASE, 'config.yaml'), () => {}), masqueradeAll: true };
    await lab.loadRules(renderStore(loadManifests(join(LAB_CASE, 'manifests')).store, config, 'node1', recordingLogger()));
    const r = await lab.probe(pod(lab, 'pa2'), spread, { count: 40 });
    expect(r.answers).toHaveLength(40);
    expect(sources(r)).toEqual(['10.244.1.1', '172.30.0.1']);
  });
});
