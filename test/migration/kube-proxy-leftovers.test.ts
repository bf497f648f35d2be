// Migration from kube-proxy, in a network namespace holding a kube-proxy-shaped ruleset: its
// nftables tables, KUBE-* iptables chains (nft and legacy backends, IPv4 and IPv6) with the jumps
// to them from the built-in chains, a kube-ipvs0 interface, and beside them a user's own table,
// chain and rules that must survive. Detection finds exactly kube-proxy's; cleanup removes exactly them.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { labAvailable } from '../../lab/lab.ts';
import { run, runOk } from '../../lab/run.ts';
import { recordingLogger } from '../../lib/log.ts';
import { checkKubeProxyLeftovers } from '../../lib/migration/at-start.ts';
import { cleanupKubeProxy } from '../../lib/migration/command.ts';
import { localTools, netnsTools } from '../../lib/migration/exec.ts';
import { findKubeProxyLeftovers, leftoverCounts } from '../../lib/migration/leftovers.ts';
import { nodeEvents } from '../../lib/k8s/events.ts';
import { createMetrics } from '../../lib/serve/metrics.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';

const lab = await labAvailable();
const host = localTools();
const missing = lab.ok ? (await Promise.all(['iptables-nft-save', 'iptables-nft-restore', 'ip6tables-nft-restore'].map(async (t) => ((await host.has(t)) ? '' : t)))).filter(Boolean) : [];
const reason = !lab.ok ? lab.reason : missing.length > 0 ? `not installed: ${missing.join(', ')}` : '';
if (reason) console.warn(`skipping kube-proxy migration tests: ${reason}`);
const maybe = reason ? describe.skip : describe;
const legacy = !reason && (await host.has('iptables-legacy-restore'));
if (!reason && !legacy) console.warn('skipping the iptables-legacy part: iptables-legacy-restore is not installed');

// kube-proxy's nftables mode, cut down: its base chains, the service-ips map, a service and an endpoint chain.
const KUBE_PROXY_NFT = (family: 'ip' | 'ip6', clusterIP: string, endpoint: string) => {
  const addr = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const ep = endpoint.replaceAll(':', '.');
  const dnat = family === 'ip' ? `${endpoint}:80` : `[${endpoint}]:80`;
  return `
table ${family} kube-proxy {
  comment "rules for kube-proxy"
  set cluster-ips {
    type ${addr}
    comment "Active ClusterIPs"
    elements = { ${clusterIP} }
  }
  map service-ips {
    type ${addr} . inet_proto . inet_service : verdict
    comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
  }
  chain mark-for-masquerade {
    meta mark set meta mark or 0x4000
  }
  chain masquerading {
    type nat hook postrouting priority srcnat; policy accept;
    meta mark & 0x4000 == 0 return
    masquerade fully-random
  }
  chain services {
    ${family} daddr . meta l4proto . th dport vmap @service-ips
  }
  chain nat-prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump services
  }
  chain nat-output {
    type nat hook output priority -100; policy accept;
    jump services
  }
  chain endpoint-2KUPQYPJ-default/web/tcp/http__${ep}/80 {
    ${family} saddr ${endpoint} jump mark-for-masquerade
    meta l4proto tcp dnat to ${dnat}
  }
  chain service-ULMVA6XW-default/web/tcp/http {
    numgen random mod 1 vmap { 0 : goto endpoint-2KUPQYPJ-default/web/tcp/http__${ep}/80 }
  }
}
add element ${family} kube-proxy service-ips { ${clusterIP} . tcp . 80 : goto service-ULMVA6XW-default/web/tcp/http }
`;
};

const USER_NFT = 'table inet user-firewall {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp dport 22 accept\n  }\n}\n';

// kube-proxy's iptables mode: the chains in nat, filter and mangle and the jumps from the built-in
// chains; kubelet's canary (which stays), and a user's chain and rules (which stay).
const KUBE_PROXY_IPTABLES = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]
:KUBE-SEP-ABCDEF1234567890 - [0:0]
:USER-NAT - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -s 192.0.2.0/24 -j USER-NAT
-A USER-NAT -p tcp --dport 2222 -j DNAT --to-destination 192.0.2.10:22
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-NPX46M4PTMTKRN6Y -j KUBE-SEP-ABCDEF1234567890
-A KUBE-SEP-ABCDEF1234567890 -s 172.30.0.1/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-ABCDEF1234567890 -p tcp -m tcp -j DNAT --to-destination 172.30.0.1:6443
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MASQUERADE --random-fully
COMMIT
*filter
:KUBE-FORWARD - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -s 192.0.2.0/24 -j ACCEPT
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
COMMIT
*mangle
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-PROXY-CANARY - [0:0]
COMMIT
`;

const KUBE_PROXY_IP6TABLES = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-POSTROUTING -j MASQUERADE
COMMIT
`;

const LEGACY_IPTABLES = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-MARK-DROP - [0:0]
:OLD-USER - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j OLD-USER
-A OLD-USER -d 198.51.100.1/32 -j RETURN
COMMIT
`;

maybe(`kube-proxy's leftovers in a network namespace${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const ns = `slkp${randomBytes(3).toString('hex')}`;
  const tools = netnsTools(ns);
  const inNs = (cmd: string, args: string[], input?: string) => runOk('ip', ['netns', 'exec', ns, cmd, ...args], { input });
  let ipvsKind = 'dummy';

  beforeAll(async () => {
    await runOk('ip', ['netns', 'add', ns]);
    await inNs('nft', ['-f', '-'], KUBE_PROXY_NFT('ip', '10.96.0.10', '10.244.1.5') + KUBE_PROXY_NFT('ip6', 'fd00:96::a', 'fd00:244:1::5') + USER_NFT);
    await inNs('iptables-nft-restore', ['--noflush'], KUBE_PROXY_IPTABLES);
    await inNs('ip6tables-nft-restore', ['--noflush'], KUBE_PROXY_IP6TABLES);
    if (legacy) await inNs('iptables-legacy-restore', ['--noflush'], LEGACY_IPTABLES);
    // kube-proxy makes kube-ipvs0 a dummy; a kernel without the dummy driver gets a bridge of that name.
    if ((await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'add', 'kube-ipvs0', 'type', 'dummy'])).exitCode !== 0) {
      ipvsKind = 'bridge';
      console.warn('no dummy interfaces in this kernel: kube-ipvs0 is a bridge here');
      await inNs('ip', ['link', 'add', 'kube-ipvs0', 'type', 'bridge']);
    }
    await inNs('ip', ['addr', 'add', '10.96.0.1/32', 'dev', 'kube-ipvs0']);
    await inNs('ip', ['link', 'add', 'user0', 'type', 'bridge']);
  });

  afterAll(async () => {
    await run('ip', ['netns', 'del', ns]);
  });

  test('detection finds kube-proxy\'s tables, chains and interface, and none of the user\'s or kubelet\'s', async () => {
    const l = await findKubeProxyLeftovers(tools);
    expect(l.nftTables).toEqual(['ip', 'ip6']);
    const chains = Object.fromEntries(l.iptables.map((i) => [i.tool.name, Object.fromEntries(i.tables.map((t) => [t.table, [...t.chains].sort()]))]));
    expect(chains['iptables-nft']).toEqual({
      nat: ['KUBE-MARK-MASQ', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-SEP-ABCDEF1234567890', 'KUBE-SERVICES', 'KUBE-SVC-NPX46M4PTMTKRN6Y'],
      filter: ['KUBE-EXTERNAL-SERVICES', 'KUBE-FIREWALL', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL'],
      mangle: ['KUBE-PROXY-CANARY'],
    });
    expect(chains['ip6tables-nft']).toEqual({ nat: ['KUBE-POSTROUTING', 'KUBE-SERVICES'] });
    if (legacy) expect(chains['iptables-legacy']).toEqual({ nat: ['KUBE-MARK-DROP', 'KUBE-SERVICES'] });
    const jumps = l.iptables.find((i) => i.tool.name === 'iptables-nft')!.tables.flatMap((t) => t.jumps.map((j) => j.split(' ')[1]));
    expect(jumps.sort()).toEqual(['FORWARD', 'INPUT', 'INPUT', 'INPUT', 'OUTPUT', 'OUTPUT', 'POSTROUTING', 'PREROUTING']);
    expect(l.ipvsInterface).toBe(true);
    expect(leftoverCounts(l)).toEqual({
      'nftables-table': 2, 'iptables-nft-chain': 13, 'iptables-legacy-chain': legacy ? 2 : 0, 'ipvs-interface': 1,
      'ipvs-virtual-server': 0, ipset: 0,
    });
  });

  test('at start: one log line, the gauge per kind and a Warning event on the Node; removal after the first sync', async () => {
    const fake = await FakeApiServer.start();
    try {
      const log = recordingLogger();
      const metrics = createMetrics({ families: ['IPv4', 'IPv6'] });
      const afterFirstSync = await checkKubeProxyLeftovers({
        tools, log, gauge: metrics.kubeProxyLeftovers, remove: false, nodeEvent: nodeEvents(fake.kubeConfig(), 'node1', log),
      });
      const said = log.lines.filter((l) => l.msg.startsWith('kube-proxy left rules'));
      expect(said).toHaveLength(1);
      expect(said[0].level).toBe('warn');
      expect(said[0].msg).toContain('nftables-table 2, iptables-nft-chain 13');
      const gauge = Object.fromEntries((await metrics.kubeProxyLeftovers.get()).values.map((v) => [v.labels.kind, v.value]));
      expect(gauge['nftables-table']).toBe(2);
      expect(gauge['ipvs-interface']).toBe(1);
      expect(fake.events).toHaveLength(1);
      expect(fake.events[0]).toMatchObject({
        type: 'Warning', reason: 'KubeProxyLeftovers', involvedObject: { kind: 'Node', name: 'node1' }, source: { component: 'sluice', host: 'node1' },
      });
      expect(fake.requests.find((r) => r.method === 'POST')!.path).toBe('/api/v1/namespaces/default/events');
      // Without remove, the first sync removes nothing.
      await afterFirstSync();
      expect(leftoverCounts(await findKubeProxyLeftovers(tools))['nftables-table']).toBe(2);
    } finally {
      await fake.close();
    }
  });

  test('sluice cleanup --kube-proxy removes them in one step and leaves the rest', async () => {
    const log = recordingLogger();
    expect(await cleanupKubeProxy(tools, log)).toBe(0);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);

    const tables = await inNs('nft', ['list', 'tables']);
    expect(tables).not.toMatch(/kube-proxy/);
    expect(tables).toMatch(/^table inet user-firewall$/m);
    const v4 = await inNs('iptables-nft-save', []);
    expect(v4.match(/^:KUBE-[^ ]+/gm)).toEqual([':KUBE-KUBELET-CANARY']);
    expect(v4).not.toMatch(/-j KUBE-/);
    for (const kept of ['-A PREROUTING -s 192.0.2.0/24 -j USER-NAT', '-A USER-NAT -p tcp -m tcp --dport 2222 -j DNAT --to-destination 192.0.2.10:22', '-A FORWARD -s 192.0.2.0/24 -j ACCEPT']) {
      expect(v4).toContain(kept);
    }
    expect(await inNs('ip6tables-nft-save', [])).not.toMatch(/KUBE-/);
    if (legacy) {
      const old = await inNs('iptables-legacy-save', []);
      expect(old).not.toMatch(/KUBE-/);
      expect(old).toContain('-A OUTPUT -j OLD-USER');
    }
    const links = await inNs('ip', ['-o', 'link', 'show']);
    expect(links).not.toMatch(/kube-ipvs0/);
    expect(links).toMatch(/user0/);
    expect(leftoverCounts(await findKubeProxyLeftovers(tools))).toEqual({
      'nftables-table': 0, 'iptables-nft-chain': 0, 'iptables-legacy-chain': 0, 'ipvs-interface': 0, 'ipvs-virtual-server': 0, ipset: 0,
    });
    // Again: nothing to do, and still nothing else touched.
    expect(await cleanupKubeProxy(tools, log)).toBe(0);
    expect(await inNs('nft', ['list', 'tables'])).toMatch(/^table inet user-firewall$/m);
    console.log(`kube-ipvs0 was a ${ipvsKind} interface`);
  });
});
