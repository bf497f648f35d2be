// The realistic synthetic cluster (bench/synth.ts) and kube-proxy's nftables rule shape for it
// (bench/kube-proxy-nft.ts): what they hold, and that nft loads the shape in a fresh namespace.
// Nothing here is timed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointChainName, hashed, kubeProxyTransaction, servicePortChain } from '../../bench/kube-proxy-nft.ts';
import { parseStrace } from '../../bench/nft-small.ts';
import { serviceShape, SyntheticCluster, writeSyntheticCluster, type SynthOptions } from '../../bench/synth.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import { nftAvailable, withNetns } from '../support/netns.ts';

const realistic: SynthOptions = { services: 40, endpoints: 3, mix: 'realistic', layout: 'lists', perFile: 16 };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sluice-bench-test-'));
}

describe('realistic synthetic cluster', () => {
  test('a fifth NodePort or LoadBalancer, some multi-port, some dual-stack, in List files', () => {
    const shapes = Array.from({ length: 1000 }, (_, i) => serviceShape(i, { ...realistic, services: 1000 }));
    expect(shapes.filter((s) => s.type !== 'ClusterIP')).toHaveLength(200);
    expect(shapes.filter((s) => s.type === 'LoadBalancer')).toHaveLength(100);
    const multi = shapes.filter((s) => s.ports.length > 1).length;
    expect(multi).toBeGreaterThanOrEqual(80);
    expect(multi).toBeLessThanOrEqual(120);
    const dualStack = shapes.filter((s) => s.dualStack).length;
    expect(dualStack).toBeGreaterThanOrEqual(90);
    expect(dualStack).toBeLessThanOrEqual(110);
    // Node ports are unique, and within 30000..65535 at 44,000 services.
    const ports = Array.from({ length: 44_000 }, (_, i) => serviceShape(i, { ...realistic, services: 44_000 }))
      .flatMap((s) => [...s.ports.flatMap((p) => (p.nodePort ? [p.nodePort] : [])), ...(s.healthCheckNodePort ? [s.healthCheckNodePort] : [])]);
    expect(new Set(ports).size).toBe(ports.length);
    expect(Math.max(...ports)).toBeLessThanOrEqual(65535);

    const dir = tempDir();
    try {
      writeSyntheticCluster(dir, realistic);
      expect(readdirSync(join(dir, 'services'))).toEqual(['part-0000.json', 'part-0001.json', 'part-0002.json']);
      const objects = loadManifests(dir).store.objects();
      expect([...objects.services]).toHaveLength(40);
      // One IPv4 slice per service, one IPv6 slice per dual-stack service.
      const dual = Array.from({ length: 40 }, (_, i) => serviceShape(i, realistic)).filter((s) => s.dualStack).length;
      expect(dual).toBeGreaterThan(0);
      expect([...objects.endpointSlices]).toHaveLength(40 + dual);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an endpoint change rewrites the one List file holding it, and keeps earlier changes', () => {
    const dir = tempDir();
    try {
      const c = new SyntheticCluster(dir, realistic);
      c.write();
      const before = readFileSync(c.slicesFile(0), 'utf8');
      c.editEndpoint(20, '10.250.0.1');
      c.editEndpoint(21, '10.250.0.2');
      expect(readFileSync(c.slicesFile(0), 'utf8')).toBe(before);
      const items = JSON.parse(readFileSync(c.slicesFile(1), 'utf8')).items;
      const first = (i: number) => items.find((s: any) => s.metadata.name === `svc-${i}-abcde`).endpoints[0].addresses[0];
      expect([first(20), first(21)]).toEqual(['10.250.0.1', '10.250.0.2']);
      expect(readdirSync(join(dir, 'endpointslices')).sort()).toEqual(['part-0000.json', 'part-0001.json', 'part-0002.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("kube-proxy's nftables rule shape", () => {
  test('a chain per service port and per endpoint, numgen vmap to the endpoints, dispatch by verdict maps', () => {
    const lines = [...kubeProxyTransaction('ip', realistic)];
    const text = lines.join('\n');
    const svc = servicePortChain('service-', 'bench', 'svc-1', 'tcp', 'http');
    expect(svc).toMatch(/^service-[A-Z2-7]{8}-bench\/svc-1\/tcp\/http$/);
    expect(lines).toContain(`add chain ip kube-proxy ${svc}`);
    expect(lines).toContain(`flush chain ip kube-proxy ${svc}`);
    const ep = (j: number) => endpointChainName('bench', 'svc-1', 'tcp', 'http', `10.128.0.${4 + j}`, 8080);
    expect(lines).toContain(`add rule ip kube-proxy ${svc} numgen random mod 3 vmap { 0 : goto ${ep(0)} , 1 : goto ${ep(1)} , 2 : goto ${ep(2)} }`);
    expect(lines).toContain(`add rule ip kube-proxy ${ep(0)} ip saddr 10.128.0.4 jump mark-for-masquerade`);
    expect(lines).toContain(`add rule ip kube-proxy ${ep(0)} meta l4proto tcp dnat to 10.128.0.4:8080`);
    expect(lines).toContain(`add element ip kube-proxy service-ips { 10.96.0.2 . tcp . 80 : goto ${svc} }`);
    // Service 0 is a NodePort: its node port goes to its external chain.
    expect(text).toContain(`add element ip kube-proxy service-nodeports { tcp . 30000 : goto ${servicePortChain('external-', 'bench', 'svc-0', 'tcp', 'http')} }`);
    // Service 15 is a LoadBalancer with source ranges: a firewall chain and a firewall-ips element.
    expect(text).toContain(`add rule ip kube-proxy ${servicePortChain('firewall-', 'bench', 'svc-15', 'tcp', 'http')} ip saddr != { 203.0.113.0/24, 192.0.2.0/24 } drop`);
    expect(hashed('bench/svc-1/tcp/http')).toBe(svc.slice('service-'.length));
    const ip6 = [...kubeProxyTransaction('ip6', realistic)];
    expect(ip6.some((l) => l.includes('dnat to [fd00:128::'))).toBe(true);
  });

  (nftAvailable().ok ? test : test.skip)('nft loads both families into a fresh namespace', () => {
    const dir = tempDir();
    try {
      withNetns((_nft, ns) => {
        for (const family of ['ip', 'ip6'] as const) {
          const file = join(dir, `kp.${family}.nft`);
          writeFileSync(file, [...kubeProxyTransaction(family, realistic)].join('\n') + '\n');
          execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
        }
        const listed = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip', 'kube-proxy'], { encoding: 'utf8' });
        expect(listed).toContain('numgen random mod 3 vmap');
        expect(listed).toContain('dnat to 10.128.0.4:8080');
        expect(execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip6', 'kube-proxy'], { encoding: 'utf8' })).toContain('dnat to [fd00:128::');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("what nft reads for a small transaction", () => {
  test('dump requests from sendto, reply bytes from recvmsg, attributed to the request before them', () => {
    const text = [
      'sendto(3, [{nlmsg_len=20, nlmsg_type=NFNL_SUBSYS_NFTABLES<<8|NFT_MSG_GETGEN, nlmsg_flags=NLM_F_REQUEST}], 20, 0, NULL, 0) = 20',
      'recvmsg(3, {msg_iov=[{iov_base=...}]}, 0) = 44',
      'sendto(3, [{nlmsg_len=20, nlmsg_type=NFNL_SUBSYS_NFTABLES<<8|NFT_MSG_GETCHAIN, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP}], 20, 0, NULL, 0) = 20',
      'recvmsg(3, {msg_iov=[{iov_base=...}]}, 0) = 4000',
      '[pid  12] recvmsg(3, {msg_iov=[{iov_base=...}]}, 0) = 96',
      'recvmsg(3, {msg_namelen=12}, 0)         = -1 EAGAIN (Resource temporarily unavailable)',
      'sendmsg(3, {msg_iov=[{iov_base=[{nlmsg_type=NFNL_MSG_BATCH_BEGIN}]}]}, 0) = 200',
      'recvmsg(3, {msg_iov=[{iov_base=...}]}, 0) = 36',
    ].join('\n');
    expect(parseStrace(text)).toEqual({
      requests: { GETGEN: 1, GETCHAIN: 1 },
      bytesByRequest: { GETGEN: 44, GETCHAIN: 4096, batch: 36 },
      bytesReceived: 4176,
      recvCalls: 4,
    });
  });
});
