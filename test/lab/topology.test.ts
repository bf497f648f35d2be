import {
  checkPods, cidrFamily, clientScript, lanScript, nodeScript, podAddresses, podAttachScript, podScript,
} from '../../lab/topology.ts';
import { sysctlShell } from '../../lab/scripts.ts';

const pa1 = { name: 'pa1', node: 'node1' as const, index: 11 };

/** Interface names an `ip` script creates or names with dev/peer name. */
function interfaceNames(script: string): string[] {
  return [...script.matchAll(/(?:link add|dev|peer name) (\S+)/g)].map((m) => m[1]);
}

describe('lab topology', () => {
  test('pod index N gives the same digits in both families', () => {
    expect(podAddresses('node1', 11)).toEqual({ ipv4: '10.244.1.11', ipv6: 'fd00:244:1::11' });
    expect(podAddresses('node2', 254)).toEqual({ ipv4: '10.244.2.254', ipv6: 'fd00:244:2::254' });
  });

  test('every interface name fits the kernel limit of 15 characters', () => {
    const longNs = 'slabcdefghijk-a-long-pod-name';
    const scripts = [
      lanScript({ node1: longNs, node2: longNs, client: longNs }),
      nodeScript('node1'), nodeScript('node2'),
      podAttachScript({ name: 'a-long-pod-name', node: 'node2', index: 254 }, longNs),
      podScript(pa1), clientScript(['203.0.113.0/24']),
    ];
    const names = scripts.flatMap(interfaceNames);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(15);
  });

  test('veths are created straight into the peer namespace, never in the one running the script', () => {
    for (const line of [...lanScript({ node1: 'x-node1', node2: 'x-node2', client: 'x-client' }).split('\n'),
      ...podAttachScript(pa1, 'x-pa1').split('\n')]) {
      if (line.includes('type veth')) expect(line).toMatch(/ peer name eth0 netns x-\w+$/);
    }
  });

  test('the client routes services and extra CIDRs via node1, in the family of each CIDR', () => {
    const script = clientScript(['146.148.47.155/32', '2001:db8:1b::/64']);
    expect(script).toContain('route add 10.96.0.0/12 via 172.30.0.1\n');
    expect(script).toContain('route add fd00:96::/108 via fd00:30::1\n');
    expect(script).toContain('route add 146.148.47.155/32 via 172.30.0.1\n');
    expect(script).toContain('route add 2001:db8:1b::/64 via fd00:30::1\n');
    expect(script).toContain('route add 10.244.2.0/24 via 172.30.0.2\n');
    expect(script).not.toMatch(/default/);
  });

  test('nodes route to each other\'s pods over the LAN', () => {
    expect(nodeScript('node1')).toContain('route add fd00:244:2::/64 via fd00:30::2\n');
    expect(nodeScript('node2')).toContain('route add 10.244.1.0/24 via 172.30.0.1\n');
  });

  test('cidrFamily rejects what is not a CIDR', () => {
    expect(cidrFamily('203.0.113.0/24')).toBe(4);
    expect(cidrFamily('2001:db8::/64')).toBe(6);
    for (const bad of ['2001:db8:lb::/64', '10.0.0.0', '10.0.0.0/33', '10.0.0.0/8/1', 'fd00::/129', '']) {
      expect(() => cidrFamily(bad)).toThrow(/not a CIDR/);
    }
  });

  test('checkPods refuses clashing names, addresses and bad indexes', () => {
    expect(() => checkPods([pa1, { name: 'pb1', node: 'node2', index: 11 }])).not.toThrow();
    expect(() => checkPods([pa1, { name: 'pa1', node: 'node2', index: 12 }])).toThrow(/clashes/);
    expect(() => checkPods([{ name: 'pa2', node: 'node1', index: 11 }], [pa1])).toThrow(/clashes/);
    expect(() => checkPods([{ name: 'node1', node: 'node1', index: 12 }])).toThrow(/pod name/);
    expect(() => checkPods([{ name: 'Pod_1', node: 'node1', index: 12 }])).toThrow(/pod name/);
    expect(() => checkPods([{ name: 'p', node: 'node1', index: 1 }])).toThrow(/index/);
    expect(() => checkPods([{ name: 'p', node: 'node3' as 'node1', index: 5 }])).toThrow(/no node/);
  });

  test('sysctl settings become writes under /proc/sys, and nothing else gets through', () => {
    expect(sysctlShell(['net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=0']))
      .toBe('echo 1 > /proc/sys/net/ipv4/ip_forward && echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables');
    expect(() => sysctlShell(['net.ipv4.ip_forward=1; rm -rf /'])).toThrow(/not a sysctl/);
  });
});
