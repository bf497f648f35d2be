// The synthetic cluster as kube-proxy's iptables mode would write it, for `iptables-restore`: the
// comparison the data-plane benchmark needs. One linear KUBE-SERVICES chain in the nat table (a new
// connection to the N-th service is matched against N rules), a KUBE-SVC chain per service choosing
// an endpoint with `statistic random`, a KUBE-SEP chain per endpoint doing the DNAT. Chain names are
// hashed as kube-proxy hashes them (sha256, base32, 16 characters). Not a copy of kube-proxy: the
// rules every service and endpoint costs a packet are the same, the rarely used ones are left out.
// Usage: node bench/iptables.ts [--services 10000] [--endpoints 10] > rules.txt
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { podAddress, serviceIP, type SynthOptions } from './synth.ts';

export interface IptablesOptions extends SynthOptions {
  /** the cluster CIDR: connections from outside it are marked for masquerade (default 10.128.0.0/9) */
  clusterCIDR?: string;
  /** the i-th service's endpoint addresses (default: bench/synth.ts's pod addresses) */
  endpointsOf?: (i: number) => string[];
  /** the endpoints' port (default 8080, as in bench/synth.ts) */
  targetPort?: number;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as Go's base32.StdEncoding writes the first characters. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function hash16(text: string): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, 16);
}

/** kube-proxy's servicePortChainName: KUBE-SVC- and a hash of "namespace/name:port" and the protocol. */
export function serviceChain(servicePortName: string, protocol: string): string {
  return `KUBE-SVC-${hash16(servicePortName + protocol)}`;
}

/** kube-proxy's servicePortEndpointChainName: KUBE-SEP- and a hash of the service port and endpoint. */
export function endpointChain(servicePortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(servicePortName + protocol + endpoint)}`;
}

/** The iptables-restore input for the synthetic cluster: a nat and a filter table. */
export function iptablesRestoreScript(opts: IptablesOptions): string {
  const clusterCIDR = opts.clusterCIDR ?? '10.128.0.0/9';
  const targetPort = opts.targetPort ?? 8080;
  const endpointsOf = opts.endpointsOf
    ?? ((i: number) => Array.from({ length: opts.endpoints }, (_, j) => podAddress(i * opts.endpoints + j)));

  const chains: string[] = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
  const rules: string[] = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  const dispatch: string[] = [];
  const perService: string[] = [];
  for (let i = 0; i < opts.services; i++) {
    const name = `bench/svc-${i}:http`;
    const ip = serviceIP(i);
    const svc = serviceChain(name, 'tcp');
    chains.push(svc);
    dispatch.push(`-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport 80 -j ${svc}`);
    perService.push(`-A ${svc} ! -s ${clusterCIDR} -d ${ip}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    const eps = endpointsOf(i);
    eps.forEach((address, k) => {
      const target = `${address}:${targetPort}`;
      const sep = endpointChain(name, 'tcp', target);
      chains.push(sep);
      const left = eps.length - k;
      const pick = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} ` : '';
      perService.push(`-A ${svc} -m comment --comment "${name} -> ${target}" ${pick}-j ${sep}`);
      perService.push(`-A ${sep} -s ${address}/32 -m comment --comment "${name}" -j KUBE-MARK-MASQ`);
      perService.push(`-A ${sep} -p tcp -m comment --comment "${name}" -m tcp -j DNAT --to-destination ${target}`);
    });
  }
  dispatch.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');

  const filter = [
    '*filter',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -m comment --comment "kubernetes forwarding rules" -j ACCEPT',
    '-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "kubernetes forwarding conntrack rule" -j ACCEPT',
    'COMMIT',
  ];
  return [
    ...filter,
    '*nat',
    ...chains.map((c) => `:${c} - [0:0]`),
    ...rules,
    ...dispatch,
    ...perService,
    'COMMIT',
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { services: { type: 'string', default: '10000' }, endpoints: { type: 'string', default: '10' } } });
  process.stdout.write(iptablesRestoreScript({ services: Number(values.services), endpoints: Number(values.endpoints) }));
}
