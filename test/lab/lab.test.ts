// Real packets through network namespaces. Needs root, ip and nft; skipped (and says why) otherwise.
import { execFileSync } from 'node:child_process';
import { createLab, destroyLab, labAvailable } from '../../lab/lab.ts';
import type { Lab, LabHost } from '../../lab/lab.ts';

const availability = await labAvailable();
const describeLab = availability.ok ? describe : describe.skip;
const skipNote = availability.ok ? '' : ` (skipped: ${availability.reason})`;
if (!availability.ok) console.warn(`network lab tests skipped: ${availability.reason}`);

const PODS = [
  { name: 'pa1', node: 'node1' as const, index: 11 },
  { name: 'pa2', node: 'node1' as const, index: 12 },
  { name: 'pb1', node: 'node2' as const, index: 21 },
  { name: 'pb2', node: 'node2' as const, index: 22 },
];
const TCP_PORTS = [9376, 8080];
const UDP_PORTS = [9376];

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

function pod(lab: Lab, name: string): LabHost {
  const found = lab.pods.find((p) => p.name === name);
  if (!found) throw new Error(`no pod ${name}`);
  return found;
}

describeLab(`network lab without sluice rules${skipNote}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ pods: PODS, tcpPorts: TCP_PORTS, udpPorts: UDP_PORTS, extraRoutes: ['203.0.113.0/24'] });
  });
  afterAll(() => lab?.destroy());

  test('the lab describes its hosts', () => {
    expect(lab.client).toMatchObject({ name: 'client', ipv4: '172.30.0.100', ipv6: 'fd00:30::100' });
    expect(lab.node1).toMatchObject({ ipv4: '172.30.0.1', podCIDRv4: '10.244.1.0/24', podCIDRv6: 'fd00:244:1::/64' });
    expect(lab.pods.map((p) => [p.name, p.node, p.ipv4, p.ipv6])).toEqual([
      ['pa1', 'node1', '10.244.1.11', 'fd00:244:1::11'],
      ['pa2', 'node1', '10.244.1.12', 'fd00:244:1::12'],
      ['pb1', 'node2', '10.244.2.21', 'fd00:244:2::21'],
      ['pb2', 'node2', '10.244.2.22', 'fd00:244:2::22'],
    ]);
    expect(namespaces()).toEqual(expect.arrayContaining([lab.client.ns, lab.node1.ns, lab.node2.ns, lab.pods[0].ns]));
  });

  describe.each(['tcp', 'udp'] as const)('%s from the client', (proto) => {
    test.each([
      ['pa1', 'ipv4'], ['pb2', 'ipv4'], ['pa2', 'ipv6'], ['pb1', 'ipv6'],
    ] as const)('straight to pod %s over %s: answered by it, seeing the client', async (name, family) => {
      const target = pod(lab, name);
      const r = await lab.probe(lab.client, { proto, host: target[family], port: 9376 }, { count: 3 });
      expect(r).toEqual({
        answers: Array(3).fill({ backend: name, sawSource: lab.client[family], port: expect.any(Number) }),
        refused: 0, timedOut: 0, unreachable: 0, errors: [],
      });
    });

    test('a closed port is refused', async () => {
      const r = await lab.probe(lab.client, { proto, host: pod(lab, 'pb1').ipv4, port: 9999 }, { count: 2 });
      expect(r).toMatchObject({ answers: [], refused: 2, timedOut: 0, unreachable: 0 });
    });

    test('an address routed nowhere in the lab gets no answer', async () => {
      // 10.99.0.1: the client sends it to node1, which has no route. 192.0.2.1: the client has none.
      for (const host of ['10.99.0.1', '192.0.2.1', 'fd00:96::99', '2001:db8::1']) {
        const r = await lab.probe(lab.client, { proto, host, port: 80 }, { count: 2, timeoutMs: 300 });
        expect({ host, answers: r.answers, refused: r.refused, lost: r.timedOut + r.unreachable, errors: r.errors })
          .toEqual({ host, answers: [], refused: 0, lost: 2, errors: [] });
      }
    });
  });

  test('without a rule, a service address gets no answer', async () => {
    const r = await lab.probe(lab.client, { proto: 'tcp', host: '10.96.0.1', port: 80 }, { timeoutMs: 300 });
    expect(r.answers).toEqual([]);
    expect(r.timedOut + r.unreachable).toBe(1);
  });

  test.each(['ipv4', 'ipv6'] as const)('a pod on node1 reaches a pod on node2 over %s and is seen with its own address', async (family) => {
    const from = pod(lab, 'pa1');
    for (const proto of ['tcp', 'udp'] as const) {
      const r = await lab.probe(from, { proto, host: pod(lab, 'pb2')[family], port: 9376 });
      expect(r.answers).toEqual([{ backend: 'pb2', sawSource: from[family], port: expect.any(Number) }]);
    }
  });

  test('every TCP port given is served', async () => {
    const r = await lab.probe(lab.client, { proto: 'tcp', host: pod(lab, 'pa2').ipv4, port: 8080 });
    expect(r.answers).toEqual([{ backend: 'pa2', sawSource: '172.30.0.100', port: expect.any(Number) }]);
  });

  test('a probe from node1 can bind the source address it is given', async () => {
    const target = { proto: 'tcp' as const, host: pod(lab, 'pb1').ipv4, port: 9376 };
    expect((await lab.probe(lab.node1, target)).answers).toEqual([{ backend: 'pb1', sawSource: '172.30.0.1', port: expect.any(Number) }]);
    expect((await lab.probe(lab.node1, target, { source: '10.244.1.1' })).answers)
      .toEqual([{ backend: 'pb1', sawSource: '10.244.1.1', port: expect.any(Number) }]);
  });

  test('exec runs in the lab\'s namespaces and only in them', async () => {
    const r = await lab.exec(lab.node1.ns, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'cni0']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('10.244.1.1/24');
    const echoed = await lab.exec(lab.client.ns, 'cat', [], 'hello');
    expect(echoed).toEqual({ stdout: 'hello', stderr: '', exitCode: 0 });
    await expect(lab.exec('some-other-ns', 'true', [])).rejects.toThrow(/not a namespace of lab/);
  });

  test('a pod added later serves, and is gone once removed', async () => {
    const added = await lab.addPod('pa3', 'node1', 13);
    expect(added).toMatchObject({ name: 'pa3', node: 'node1', ipv4: '10.244.1.13', ipv6: 'fd00:244:1::13' });
    const target = { proto: 'udp' as const, host: added.ipv6, port: 9376 };
    expect((await lab.probe(lab.client, target)).answers).toEqual([{ backend: 'pa3', sawSource: 'fd00:30::100', port: expect.any(Number) }]);
    await expect(lab.addPod('pa4', 'node1', 13)).rejects.toThrow(/clashes/);

    await lab.removePod('pa3');
    expect(lab.pods.map((p) => p.name)).not.toContain('pa3');
    expect(namespaces()).not.toContain(added.ns);
    expect((await lab.probe(lab.client, target, { timeoutMs: 300 })).answers).toEqual([]);
  });
});

describeLab(`lab lifecycle${skipNote}`, () => {
  test('destroy removes every namespace of the lab, and can be called twice', async () => {
    const lab = await createLab({ prefix: 'sltestlife', pods: [PODS[0], PODS[2]], tcpPorts: [9376], udpPorts: [] });
    expect(namespaces().filter((n) => n.startsWith('sltestlife-')).sort())
      .toEqual(['client', 'lan', 'node1', 'node2', 'pa1', 'pb1'].map((r) => `sltestlife-${r}`));
    await lab.destroy();
    await lab.destroy();
    expect(namespaces().filter((n) => n.startsWith('sltestlife-'))).toEqual([]);
  });

  test('createLab clears what a killed run with the same prefix left behind', async () => {
    execFileSync('ip', ['-batch', '-'], { input: 'netns add sltestkill-node1\nnetns add sltestkill-stale\n' });
    const lab = await createLab({ prefix: 'sltestkill', pods: [PODS[0]], tcpPorts: [9376], udpPorts: [] });
    try {
      expect(namespaces()).not.toContain('sltestkill-stale');
      const r = await lab.probe(lab.client, { proto: 'tcp', host: '10.244.1.11', port: 9376 });
      expect(r.answers).toEqual([{ backend: 'pa1', sawSource: '172.30.0.100', port: expect.any(Number) }]);
    } finally {
      await lab.destroy();
    }
    expect(namespaces().filter((n) => n.startsWith('sltestkill-'))).toEqual([]);
  });

  test('a createLab that fails leaves nothing behind', async () => {
    // The same TCP port twice: the echo servers cannot start.
    await expect(createLab({ prefix: 'sltestfail', pods: [PODS[0], PODS[2]], tcpPorts: [9376, 9376], udpPorts: [] }))
      .rejects.toThrow(/echo server .*EADDRINUSE/);
    expect(namespaces().filter((n) => n.startsWith('sltestfail-'))).toEqual([]);
  });

  test('destroyLab refuses a prefix that could match namespaces not ours', async () => {
    await expect(destroyLab('')).rejects.toThrow(/not a lab prefix/);
    await expect(destroyLab('sl-')).rejects.toThrow(/not a lab prefix/);
  });
});

describeLab(`rules loaded into node1 meet real packets${skipNote}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ pods: PODS, tcpPorts: TCP_PORTS, udpPorts: UDP_PORTS });
  });
  afterAll(() => lab?.destroy());

  test('a hand-written DNAT sends the client\'s service traffic to a pod', async () => {
    const service = { proto: 'tcp' as const, host: '10.96.0.1', port: 80 };
    expect((await lab.probe(lab.client, service, { timeoutMs: 300 })).answers).toEqual([]);

    await lab.loadRules([
      'table inet labtest {',
      '  chain pre {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      '    ip daddr 10.96.0.1 tcp dport 80 dnat ip to 10.244.1.11:9376',
      '  }',
      '}',
    ].join('\n'));

    expect(await lab.probe(lab.client, service, { count: 3 })).toEqual({
      answers: Array(3).fill({ backend: 'pa1', sawSource: '172.30.0.100', port: expect.any(Number) }), refused: 0, timedOut: 0, unreachable: 0, errors: [],
    });
  });

  test('to a pod on node2, DNAT alone is not enough: the reply must come back through node1', async () => {
    const service = { proto: 'udp' as const, host: 'fd00:96::1', port: 53 };
    await lab.loadRules([
      'table ip6 labtest6 {',
      '  chain pre {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      '    ip6 daddr fd00:96::1 udp dport 53 dnat to [fd00:244:2::22]:9376',
      '  }',
      '}',
    ].join('\n'));
    // pb2 answers the client straight over the LAN, from its own address: the client drops that.
    expect((await lab.probe(lab.client, service, { timeoutMs: 300 })).answers).toEqual([]);

    await lab.loadRules([
      'table ip6 labtest6 {',
      '  chain post {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      '    ct status dnat oifname "eth0" masquerade',
      '  }',
      '}',
    ].join('\n'));
    expect((await lab.probe(lab.client, service)).answers).toEqual([{ backend: 'pb2', sawSource: lab.node1.ipv6, port: expect.any(Number) }]);
  });

  test('the probe tells a reject with reset, port-unreachable and admin-prohibited apart', async () => {
    // pa1 is on node1, so the client's packets to it cross node1's forward hook.
    await lab.loadRules([
      'table inet labfilter {',
      '  chain forward_f {',
      '    type filter hook forward priority filter; policy accept;',
      '    ip daddr 10.244.1.11 tcp dport 8080 reject with tcp reset',
      '    ip daddr 10.244.1.11 udp dport 9376 reject with icmp type port-unreachable',
      '    ip6 daddr fd00:244:1::11 reject with icmpv6 type admin-prohibited',
      '  }',
      '}',
    ].join('\n'));
    const pa1 = pod(lab, 'pa1');
    expect(await lab.probe(lab.client, { proto: 'tcp', host: pa1.ipv4, port: 8080 })).toMatchObject({ answers: [], refused: 1 });
    expect(await lab.probe(lab.client, { proto: 'udp', host: pa1.ipv4, port: 9376 })).toMatchObject({ answers: [], refused: 1 });
    for (const proto of ['tcp', 'udp'] as const) {
      expect(await lab.probe(lab.client, { proto, host: pa1.ipv6, port: 9376 })).toMatchObject({ answers: [], unreachable: 1 });
    }
    // What the rules leave alone still answers.
    expect((await lab.probe(lab.client, { proto: 'tcp', host: pa1.ipv4, port: 9376 })).answers).toEqual([{ backend: 'pa1', sawSource: '172.30.0.100', port: expect.any(Number) }]);
  });

  test('loadRules throws with nft\'s own message', async () => {
    await expect(lab.loadRules('table ip broken { chain c { nonsense } }\n')).rejects.toThrow(/syntax error/);
  });
});
