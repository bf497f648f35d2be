// Sequences in words short enough to read in a failure message (and in FINDINGS.md).
import { SERVICES, type Change, type ClusterState, type ConfigSpec, type EndpointSpec, type NodeSpec, type ServiceSpec, type Step, CLUSTER_CIDRS, INTERNAL_IPS, NODE_PORT_ADDRESSES, POD_CIDRS, SOURCE_RANGES } from './cluster.ts';

const COND = { ready: 'r', unready: 'u', 'term-serving': 's', 'term-gone': 'g' } as const;

/** Endpoints as node digit (0: none) and condition letter each: `1r 2s` is node1 ready, node2 terminating-serving. */
export function endpointsText(eps: EndpointSpec[] | null): string {
  if (eps === null) return 'no slice';
  return `${eps.length} [${eps.map((e) => `${e.node}${COND[e.cond]}`).join(' ')}]`;
}

export function serviceText(s: ServiceSpec | null): string {
  if (!s) return 'absent';
  const parts = [s.families, s.type, `ip#${s.ipVariant}`, `ports=${s.ports.map((p) => p.name + (p.nodePort ? '+nodePort' : '')).join(',')}`];
  if (s.affinity !== null) parts.push(`ClientIP(${s.affinity === 'default' ? 'default 10800' : s.affinity}s)`);
  if (s.itp === 'Local') parts.push('itp=Local');
  if (s.etp === 'Local') parts.push('etp=Local');
  if (s.lb.length) parts.push(`lb=${s.lb.join(',')}`);
  if (s.ext.length) parts.push(`ext=${s.ext.join(',')}`);
  if (s.ranges.length) parts.push(`ranges=${s.ranges.map((r) => SOURCE_RANGES[r]).join(',')}`);
  return parts.join(' ');
}

export function nodeText(n: NodeSpec | null): string {
  if (!n) return 'Node node1 absent';
  return `Node node1 ips=[${n.ips.map((i) => INTERNAL_IPS[i]).join(',')}] podCIDRs=[${n.cidrs.map((i) => POD_CIDRS[i]).join(',')}]`;
}

export function configText(c: ConfigSpec): string {
  return `masqueradeAll=${c.masqueradeAll} detectLocalMode=${c.detectLocalMode} clusterCIDR=${CLUSTER_CIDRS[c.clusterCIDR] || '(none)'}`
    + ` nodePortAddresses=${NODE_PORT_ADDRESSES[c.nodePortAddresses]?.join(',') ?? 'primary'}`;
}

export function stateText(s: ClusterState): string[] {
  const lines: string[] = [];
  SERVICES.forEach((name, i) => {
    const sl = s.slices[i];
    if (!s.services[i] && sl.v4 === null && sl.v6 === null) return;
    lines.push(`${name}: ${serviceText(s.services[i])}; v4 ${endpointsText(sl.v4)}; v6 ${endpointsText(sl.v6)}`);
  });
  lines.push(nodeText(s.node));
  return lines;
}

export function changeText(c: Change): string {
  const svc = 'svc' in c ? SERVICES[c.svc] : '';
  switch (c.op) {
    case 'put': return `${svc} := ${serviceText(c.spec)}`;
    case 'delete': return `${svc} deleted`;
    case 'type': return `${svc} type ${c.type}`;
    case 'affinity': return `${svc} sessionAffinity ${c.affinity === null ? 'None' : `ClientIP(${c.affinity === 'default' ? 'default' : c.affinity + 's'})`}`;
    case 'affinityTimeout': return `${svc} affinity timeout ${c.timeout}s (if ClientIP)`;
    case 'policies': return `${svc} itp=${c.itp} etp=${c.etp}`;
    case 'ports': return `${svc} ports ${c.ports.map((p) => p.name + (p.nodePort ? '+nodePort' : '')).join(',')}`;
    case 'fronts': return `${svc} lb=[${c.lb}] ext=[${c.ext}]`;
    case 'ranges': return `${svc} loadBalancerSourceRanges=[${c.ranges.map((r) => SOURCE_RANGES[r])}]`;
    case 'families': return `${svc} families ${c.families}`;
    case 'endpoints': return `${svc} ${c.family} endpoints := ${endpointsText(c.endpoints)}`;
    case 'endpoint': return `${svc} ${c.family} endpoint #${c.index} (mod count) := ${endpointsText([c.endpoint]).slice(2)}`;
    case 'node': return nodeText(c.node);
  }
}

export function stepText(s: Step): string {
  if ('config' in s) return `restart with config ${configText(s.config)}`;
  if ('hour' in s) return 'an hour passes (periodic full sync)';
  return s.changes.map(changeText).join('; ');
}
