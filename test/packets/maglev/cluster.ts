// The Maglev packet tests' cluster: lab's two nodes, five pods behind one LoadBalancer service with
// sluice.dev/lb-algorithm: maglev, rendered for node1 and for node2 as each node's sluice would.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../lib/config/kube-proxy-config.ts';
import { recordingLogger } from '../../../lib/log.ts';
import { loadManifests } from '../../../lib/manifests/load.ts';
import { planFromStore, renderStore } from '../../../lib/render.ts';
import type { PodSpec } from '../../../lab/lab.ts';
import { podAddresses } from '../../../lab/topology.ts';
import { NODES } from '../../run/support/manifests.ts';

export const PODS: PodSpec[] = [
  { name: 'pa1', node: 'node1', index: 11 }, { name: 'pa2', node: 'node1', index: 12 },
  { name: 'pb1', node: 'node2', index: 11 }, { name: 'pb2', node: 'node2', index: 12 }, { name: 'pb3', node: 'node2', index: 13 },
];
export const ECHO_PORT = 9376;
export const LB_IP = '198.51.100.7';
export const LB_IP6 = '2001:db8:1b::7';
export const NODE_PORT = 30701;
export const SERVICE_PORT = 80;

/** The TCP service is dual-stack (the same pods' IPv6 addresses), the UDP one IPv4 only. */
function service(proto: 'TCP' | 'UDP', pods: PodSpec[]): string {
  const name = `hashed-${proto.toLowerCase()}`;
  const endpoints = (family: 'ipv4' | 'ipv6') => pods.map((p) => `  - { addresses: ["${podAddresses(p.node, p.index)[family]}"], nodeName: ${p.node} }`).join('\n');
  const dual = proto === 'TCP';
  return `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: lab, annotations: { sluice.dev/lb-algorithm: maglev } }
spec:
  type: LoadBalancer
  clusterIPs: [10.96.7.${proto === 'TCP' ? 1 : 2}${dual ? ', "fd00:96::7:1"' : ''}]
  ports: [{ protocol: ${proto}, port: ${SERVICE_PORT}, targetPort: ${ECHO_PORT}, nodePort: ${NODE_PORT} }]
status: { loadBalancer: { ingress: [{ ip: ${LB_IP} }${dual ? `, { ip: "${LB_IP6}" }` : ''}] } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: lab, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ port: ${ECHO_PORT}, protocol: ${proto} }]
endpoints:
${endpoints('ipv4')}
${dual ? `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-v6, namespace: lab, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv6
ports: [{ port: ${ECHO_PORT}, protocol: ${proto} }]
endpoints:
${endpoints('ipv6')}
` : ''}`;
}

const CONFIG = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.244.0.0/16,fd00:244::/32' };

export interface Rendered {
  script: string;
  /** The Maglev map of a protocol's service as planned: slot -> pod name. */
  slots: Record<'tcp' | 'udp' | 'tcp6', string[]>;
  tableSize: number;
}

/** Both services (TCP and UDP, same endpoints) rendered for one node. */
export function renderFor(node: 'node1' | 'node2', pods: PodSpec[]): Rendered {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-maglev-'));
  try {
    writeFileSync(join(dir, 'cluster.yaml'), [NODES, service('TCP', pods), service('UDP', pods)].join('---\n'));
    const config = parseConfig(CONFIG, (m) => { throw new Error(m); });
    const { store } = loadManifests(dir);
    const log = recordingLogger();
    const script = renderStore(store, config, node, log);
    const warnings = log.lines.filter((l) => l.level === 'warn');
    if (warnings.length) throw new Error(`render for ${node}: ${warnings.map((w) => w.msg).join('; ')}`);
    const tables = planFromStore(store, config, node).ruleset.tables;
    const podAt = new Map(PODS.flatMap((p) => [[podAddresses(p.node, p.index).ipv4, p.name], [podAddresses(p.node, p.index).ipv6, p.name]]));
    const slotsOf = (proto: 'tcp' | 'udp', family: 'ip' | 'ip6' = 'ip') => {
      const table = tables.find((t) => t.family === family)!;
      const map = table.endpointMaps.find((m) => m.name === `mgc/lab/hashed-${proto}/${proto}/${SERVICE_PORT}`);
      if (!map) throw new Error(`no Maglev map for ${proto} in the plan for ${node}`);
      return map.elements.map((e) => podAt.get(String(e.value![0]))!);
    };
    return { script, slots: { tcp: slotsOf('tcp'), udp: slotsOf('udp'), tcp6: slotsOf('tcp', 'ip6') }, tableSize: config.loadBalancing.tableSize };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
