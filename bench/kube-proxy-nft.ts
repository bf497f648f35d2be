// The synthetic cluster (bench/synth.ts) as kube-proxy 1.36's nftables mode writes it on its first
// sync: what a node pays the kernel and nft for kube-proxy's rule shape, the comparison the first full
// sync is held to. Written from what kube-proxy's pkg/proxy/nftables/proxier.go puts in its
// transaction (not a copy of it), one transaction per IP family, each operation a line as knftables
// writes them (`add chain` and `flush chain` before a chain's rules, `add element` one element a
// line):
// - table `kube-proxy`; base chains filter-prerouting/-input/-forward/-output (dstnat - 10),
//   nat-prerouting/-output (dstnat), nat-postrouting (srcnat); jumps to endpoints-check,
//   firewall-check, cluster-ips-check, services and masquerading;
// - dispatch: `ip daddr . meta l4proto . th dport vmap @service-ips`, node ports through
//   `@nodeport-ips` and `vmap @service-nodeports`; `@no-endpoint-services`, `@no-endpoint-nodeports`
//   (goto reject-chain, or drop), `@firewall-ips` (goto a firewall chain per guarded service port);
// - per service port: `service-HASH-ns/name/proto/port` (masquerade of traffic from outside the
//   cluster CIDR via `jump mark-for-masquerade`, affinity rules, `numgen random mod N vmap { i : goto
//   endpoint-… }`), `external-…` for node ports and load-balancer IPs, `local-…` for
//   externalTrafficPolicy Local, `firewall-…` for loadBalancerSourceRanges;
// - per endpoint: `endpoint-HASH-ns/name/proto/port__IP/PORT` (`ip saddr EP jump mark-for-masquerade`,
//   `update @affinity-… { ip saddr }` with ClientIP affinity, `meta l4proto P dnat to EP:PORT`);
// - masquerade: `mark set mark or 0x4000` in mark-for-masquerade, tested and cleared in masquerading.
// Usage: node bench/kube-proxy-nft.ts OUT_PREFIX [--services N] [--endpoints E] [--mix realistic]
//        writes OUT_PREFIX.ip.nft and OUT_PREFIX.ip6.nft
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { base32 } from './iptables.ts';
import {
  endpointNode, endpointSlices, ingressIP, ingressIP6, NODE_IPS, NODE_NAME, POD_CIDRS, serviceIP, serviceIP6, serviceShape,
  type Mix, type SynthOptions,
} from './synth.ts';

export type Family = 'ip' | 'ip6';
const T = 'kube-proxy';
const MARK = '0x00004000';

/** kube-proxy's hashAndTruncate: the first 8 characters of base32(sha256(name)), a dash, the name. */
export function hashed(name: string): string {
  const h = base32(createHash('sha256').update(name).digest()).slice(0, 8);
  const s = `${h}-${name}`;
  return s.length > 240 ? s.slice(0, 237) + '...' : s;
}

export function servicePortChain(prefix: 'service-' | 'local-' | 'external-' | 'firewall-', ns: string, name: string, proto: string, port: string): string {
  return prefix + hashed(`${ns}/${name}/${proto}/${port}`);
}

export function endpointChainName(ns: string, name: string, proto: string, port: string, ip: string, epPort: number): string {
  return 'endpoint-' + hashed(`${ns}/${name}/${proto}/${port}__${ip.replaceAll(':', '.')}/${epPort}`);
}

export function affinitySetName(ns: string, name: string, proto: string, port: string, ip: string, epPort: number): string {
  return endpointChainName(ns, name, proto, port, ip, epPort).replace(/^endpoint-/, 'affinity-');
}

export interface KubeProxyOptions extends SynthOptions {
  /** the service CIDRs (default 10.96.0.0/12, fd00:96::/108... as bench/synth.ts allocates) */
  serviceCIDRs?: Record<Family, string>;
}

/** The lines of one family's first-sync transaction (no trailing newline on each). */
export function* kubeProxyTransaction(family: Family, o: KubeProxyOptions): Generator<string> {
  const v6 = family === 'ip6';
  const ipX = v6 ? 'ip6' : 'ip';
  const addrType = v6 ? 'ipv6_addr' : 'ipv4_addr';
  const clusterCIDR = v6 ? POD_CIDRS[1] : POD_CIDRS[0];
  const nodeIP = v6 ? NODE_IPS[1] : NODE_IPS[0];
  const serviceCIDR = o.serviceCIDRs?.[family] ?? (v6 ? 'fd00:96::/64' : '10.96.0.0/12');
  const noLocalhost = v6 ? 'ip6 daddr != ::1' : 'ip daddr != 127.0.0.0/8';
  const P = `${family} ${T}`;
  const created = new Set<string>();
  const ensureChain = function* (c: string) {
    if (created.has(c)) return;
    created.add(c);
    yield `add chain ${P} ${c}`;
    yield `flush chain ${P} ${c}`;
  };

  yield `add table ${P} { comment "rules for kube-proxy" ; }`;
  for (const [name, type, hook, prio] of [
    ['filter-prerouting', 'filter', 'prerouting', -110], ['filter-input', 'filter', 'input', -110], ['filter-forward', 'filter', 'forward', -110],
    ['filter-output', 'filter', 'output', -110], ['filter-output-post-dnat', 'filter', 'output', -90],
    ['nat-prerouting', 'nat', 'prerouting', -100], ['nat-output', 'nat', 'output', -100], ['nat-postrouting', 'nat', 'postrouting', 100],
  ] as const) {
    yield `add chain ${P} ${name} { type ${type} hook ${hook} priority ${prio} ; }`;
    yield `flush chain ${P} ${name}`;
  }
  for (const [dst, src, extra] of [
    ['endpoints-check', 'filter-input', 'ct state new '], ['endpoints-check', 'filter-forward', 'ct state new '], ['endpoints-check', 'filter-output', 'ct state new '],
    ['firewall-check', 'filter-prerouting', 'ct state new '], ['firewall-check', 'filter-output', 'ct state new '],
    ['services', 'nat-output', ''], ['services', 'nat-prerouting', ''], ['masquerading', 'nat-postrouting', ''],
    ['cluster-ips-check', 'filter-forward', 'ct state new '], ['cluster-ips-check', 'filter-output-post-dnat', 'ct state new '],
  ] as const) {
    yield* ensureChain(dst);
    yield `add rule ${P} ${src} ${extra}jump ${dst}`;
  }
  yield* ensureChain('mark-for-masquerade');
  yield `add rule ${P} mark-for-masquerade mark set mark or ${MARK}`;
  yield `add rule ${P} masquerading mark and ${MARK} == 0 return`;
  yield `add rule ${P} masquerading mark set mark xor ${MARK}`;
  yield `add rule ${P} masquerading masquerade fully-random`;

  yield `add set ${P} nodeport-ips { type ${addrType} ; comment "IPs that accept NodePort traffic" ; }`;
  yield `flush set ${P} nodeport-ips`;
  yield `add element ${P} nodeport-ips { ${nodeIP} }`;
  yield `add set ${P} cluster-ips { type ${addrType} ; comment "Active ClusterIPs" ; }`;
  yield `flush set ${P} cluster-ips`;
  yield `add rule ${P} cluster-ips-check ${ipX} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`;
  yield `add rule ${P} cluster-ips-check ${ipX} daddr { ${serviceCIDR} } drop comment "Drop traffic to unallocated ClusterIPs"`;

  yield `add map ${P} no-endpoint-services { type ${addrType} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`;
  yield `add map ${P} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`;
  yield* ensureChain('reject-chain');
  yield `add rule ${P} reject-chain reject`;
  yield `add rule ${P} endpoints-check ${ipX} daddr . meta l4proto . th dport vmap @no-endpoint-services`;
  yield `add rule ${P} endpoints-check ${ipX} daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`;
  yield `add map ${P} firewall-ips { type ${addrType} . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`;
  yield `add rule ${P} firewall-check ${ipX} daddr . meta l4proto . th dport vmap @firewall-ips`;
  yield `add map ${P} service-ips { type ${addrType} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`;
  yield `add map ${P} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`;
  yield `add rule ${P} services ${ipX} daddr . meta l4proto . th dport vmap @service-ips`;
  yield `add rule ${P} services ${ipX} daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`;
  for (const m of ['firewall-ips', 'no-endpoint-services', 'no-endpoint-nodeports', 'service-ips', 'service-nodeports']) yield `flush map ${P} ${m}`;

  const ns = 'bench';
  for (let i = 0; i < o.services; i++) {
    const s = serviceShape(i, o);
    if (v6 && !s.dualStack) continue;
    const name = `svc-${i}`;
    const clusterIP = v6 ? serviceIP6(i) : serviceIP(i);
    const lbIPs = s.type === 'LoadBalancer' ? [v6 ? ingressIP6(i) : ingressIP(i)] : [];
    const slice = endpointSlices(i, o).find((sl) => sl.addressType === (v6 ? 'IPv6' : 'IPv4'))!;
    yield `add element ${P} cluster-ips { ${clusterIP} }`;
    for (const port of s.ports) {
      const proto = port.protocol.toLowerCase();
      const eps = slice.endpoints.map((e) => ({ ip: e.addresses[0], local: e.nodeName === NODE_NAME }));
      const local = eps.filter((e) => e.local);
      const chainOf = (e: { ip: string }) => endpointChainName(ns, name, proto, port.name, e.ip, port.targetPort);
      const svcChain = servicePortChain('service-', ns, name, proto, port.name);
      const localChain = servicePortChain('local-', ns, name, proto, port.name);
      const extChain = servicePortChain('external-', ns, name, proto, port.name);
      const fwChain = servicePortChain('firewall-', ns, name, proto, port.name);
      const external = s.type !== 'ClusterIP';
      const hasEndpoints = eps.length > 0;
      const usesLocal = s.externalLocal && local.length > 0;
      // Every endpoint is reachable: internal traffic uses the cluster chain even under eTP Local.
      const reachable = eps;
      for (const e of reachable) yield* ensureChain(chainOf(e));
      if (hasEndpoints) yield* ensureChain(svcChain);
      if (usesLocal) yield* ensureChain(localChain);
      if (hasEndpoints && external) yield* ensureChain(extChain);

      if (hasEndpoints) yield `add element ${P} service-ips { ${clusterIP} . ${proto} . ${port.port} : goto ${svcChain} }`;
      else yield `add element ${P} no-endpoint-services { ${clusterIP} . ${proto} . ${port.port} comment "${ns}/${name}:${port.name}" : goto reject-chain }`;
      const fw = lbIPs.length > 0 && s.sourceRanges.length > 0 && !v6;
      if (fw) {
        yield* ensureChain(fwChain);
        yield `add rule ${P} ${fwChain} ${ipX} saddr != { ${s.sourceRanges.join(', ')} } drop`;
      }
      for (const lb of lbIPs) {
        if (hasEndpoints) yield `add element ${P} service-ips { ${lb} . ${proto} . ${port.port} : goto ${extChain} }`;
        if (fw) yield `add element ${P} firewall-ips { ${lb} . ${proto} . ${port.port} comment "${ns}/${name}:${port.name}" : goto ${fwChain} }`;
        if (s.externalLocal && !usesLocal) yield `add element ${P} no-endpoint-services { ${lb} . ${proto} . ${port.port} comment "${ns}/${name}:${port.name}" : drop }`;
      }
      if (port.nodePort) {
        if (hasEndpoints) yield `add element ${P} service-nodeports { ${proto} . ${port.nodePort} : goto ${extChain} }`;
        if (s.externalLocal && !usesLocal) yield `add element ${P} no-endpoint-nodeports { ${proto} . ${port.nodePort} comment "${ns}/${name}:${port.name}" : drop }`;
      }
      if (hasEndpoints) yield `add rule ${P} ${svcChain} ${ipX} daddr ${clusterIP} ${proto} dport ${port.port} ${ipX} saddr != ${clusterCIDR} jump mark-for-masquerade`;
      if (hasEndpoints && external) {
        if (!s.externalLocal) {
          yield `add rule ${P} ${extChain} jump mark-for-masquerade`;
          yield `add rule ${P} ${extChain} goto ${svcChain}`;
        } else {
          yield `add rule ${P} ${extChain} ${ipX} saddr ${clusterCIDR} goto ${svcChain} comment "short-circuit pod traffic"`;
          yield `add rule ${P} ${extChain} fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"`;
          yield `add rule ${P} ${extChain} fib saddr type local goto ${svcChain} comment "short-circuit local traffic"`;
          if (usesLocal) yield `add rule ${P} ${extChain} goto ${localChain}`;
        }
      }
      if (s.affinity) {
        for (const e of reachable) {
          yield `add set ${P} ${affinitySetName(ns, name, proto, port.name, e.ip, port.targetPort)} { type ${addrType} ; flags dynamic,timeout ; timeout 10800s ; }`;
        }
      }
      const toEndpoints = function* (chain: string, list: typeof eps) {
        if (s.affinity) for (const e of list) yield `add rule ${P} ${chain} ${ipX} saddr @${affinitySetName(ns, name, proto, port.name, e.ip, port.targetPort)} goto ${chainOf(e)}`;
        yield `add rule ${P} ${chain} numgen random mod ${list.length} vmap { ${list.map((e, k) => `${k} : goto ${chainOf(e)}`).join(' , ')} }`;
      };
      if (hasEndpoints) yield* toEndpoints(svcChain, eps);
      if (usesLocal) yield* toEndpoints(localChain, local);
      for (const e of reachable) {
        const c = chainOf(e);
        yield `add rule ${P} ${c} ${ipX} saddr ${e.ip} jump mark-for-masquerade`;
        if (s.affinity) yield `add rule ${P} ${c} update @${affinitySetName(ns, name, proto, port.name, e.ip, port.targetPort)} { ${ipX} saddr }`;
        yield `add rule ${P} ${c} meta l4proto ${proto} dnat to ${v6 ? `[${e.ip}]` : e.ip}:${port.targetPort}`;
      }
    }
  }
}

/** Writes the family's transaction to a file, a block of lines at a time; returns its line count. */
export function writeKubeProxyTransaction(file: string, family: Family, o: KubeProxyOptions): number {
  const fd = openSync(file, 'w');
  let lines = 0;
  let buf: string[] = [];
  try {
    for (const l of kubeProxyTransaction(family, o)) {
      buf.push(l);
      lines++;
      if (buf.length >= 4096) { writeSync(fd, buf.join('\n') + '\n'); buf = []; }
    }
    if (buf.length) writeSync(fd, buf.join('\n') + '\n');
  } finally {
    closeSync(fd);
  }
  return lines;
}

/** Whether the cluster has any IPv6 service (an ip6 transaction worth loading). */
export function hasIPv6(o: SynthOptions): boolean {
  for (let i = 0; i < o.services; i++) if (serviceShape(i, o).dualStack) return true;
  return false;
}

// Endpoint nodes come from bench/synth.ts; say so for readers looking for the local endpoints.
export { endpointNode };

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { services: { type: 'string', default: '1000' }, endpoints: { type: 'string', default: '10' }, mix: { type: 'string', default: 'realistic' } } });
  if (positionals.length !== 1) throw new Error('usage: kube-proxy-nft.ts OUT_PREFIX [--services N] [--endpoints E] [--mix uniform|realistic]');
  const o = { services: Number(values.services), endpoints: Number(values.endpoints), mix: values.mix as Mix };
  for (const f of ['ip', 'ip6'] as const) {
    const n = writeKubeProxyTransaction(`${positionals[0]}.${f}.nft`, f, o);
    process.stderr.write(`${positionals[0]}.${f}.nft: ${n} lines\n`);
  }
}
