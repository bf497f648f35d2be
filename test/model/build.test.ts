// Conflicts between services (buildModel's Claims): a cluster IP, a node port or a load-balancer
// IP:port belongs to one service, the oldest; the younger claimant is skipped with a warning.
import { describe, expect, test } from '@jest/globals';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { buildModel } from '../../lib/model/build.ts';

interface Def {
  name: string;
  created: string;
  clusterIP: string;
  ports?: { port: number; protocol?: string; nodePort?: number }[];
  type?: string;
  lb?: string[];
  externalIPs?: string[];
  namespace?: string;
}

function service(d: Def): KubeObject {
  return {
    kind: 'Service',
    metadata: { name: d.name, namespace: d.namespace ?? 'default', creationTimestamp: d.created },
    spec: {
      type: d.type ?? (d.lb ? 'LoadBalancer' : 'ClusterIP'), clusterIP: d.clusterIP, externalIPs: d.externalIPs,
      ports: (d.ports ?? [{ port: 80 }]).map((p, i) => ({ name: `p${i}`, ...p })),
    },
    status: d.lb ? { loadBalancer: { ingress: d.lb.map((ip) => ({ ip })) } } : undefined,
  };
}

const build = (services: KubeObject[]) => buildModel({ services, endpointSlices: [], endpoints: [], nodes: [] }, 'node1');
const programmed = (services: KubeObject[]) => [...new Set(build(services).servicePorts.map((sp) => sp.name))].sort();
const conflicts = (services: KubeObject[]) => build(services).problems.map((p) => `${p.kind} ${p.object} ${p.reason}: ${p.message}`);

const OLD = '2026-01-01T00:00:00Z';
const NEW = '2026-02-01T00:00:00Z';

describe('conflicts between services', () => {
  test('one cluster IP, two services: the older keeps it, whichever is listed first', () => {
    const older = service({ name: 'older', created: OLD, clusterIP: '10.96.0.10' });
    const younger = service({ name: 'younger', created: NEW, clusterIP: '10.96.0.10', ports: [{ port: 81 }] });
    for (const order of [[older, younger], [younger, older]]) {
      expect(programmed(order)).toEqual(['older']);
      expect(conflicts(order)).toEqual(['Service default/younger conflict: clusterIP 10.96.0.10 already belongs to Service default/older']);
    }
  });

  test('equal creation times: the first by namespace, then name, keeps it', () => {
    const a = service({ name: 'a', namespace: 'zzz', created: OLD, clusterIP: '10.96.0.10' });
    const b = service({ name: 'b', namespace: 'aaa', created: OLD, clusterIP: '10.96.0.10' });
    expect(programmed([a, b])).toEqual(['b']);
    expect(conflicts([a, b])).toEqual(['Service zzz/a conflict: clusterIP 10.96.0.10 already belongs to Service aaa/b']);
  });

  test('one node port and protocol, two services: the older keeps it; the same number on another protocol is no conflict', () => {
    const older = service({ name: 'older', created: OLD, type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080 }] });
    const younger = service({ name: 'younger', created: NEW, type: 'NodePort', clusterIP: '10.96.0.11', ports: [{ port: 80, nodePort: 30080 }] });
    const udp = service({ name: 'udp', created: NEW, type: 'NodePort', clusterIP: '10.96.0.12', ports: [{ port: 80, protocol: 'UDP', nodePort: 30080 }] });
    expect(programmed([younger, udp, older])).toEqual(['older', 'udp']);
    expect(conflicts([younger, udp, older])).toEqual(['Service default/younger conflict: nodePort 30080/tcp already belongs to Service default/older']);
  });

  test('one load-balancer IP and port, two services: the older keeps it', () => {
    const older = service({ name: 'older', created: OLD, clusterIP: '10.96.0.10', lb: ['192.0.2.10'], ports: [{ port: 443, nodePort: 30443 }] });
    const younger = service({ name: 'younger', created: NEW, clusterIP: '10.96.0.11', lb: ['192.0.2.10'], ports: [{ port: 443, nodePort: 30444 }] });
    expect(programmed([younger, older])).toEqual(['older']);
    expect(conflicts([younger, older])).toEqual(['Service default/younger conflict: address 192.0.2.10 tcp/443 already belongs to Service default/older']);
  });

  test('one load-balancer IP on different ports is shared: both services keep their rules', () => {
    const https = service({ name: 'https', created: OLD, clusterIP: '10.96.0.10', lb: ['192.0.2.10'], ports: [{ port: 443, nodePort: 30443 }] });
    const http = service({ name: 'http', created: NEW, clusterIP: '10.96.0.11', lb: ['192.0.2.10'], ports: [{ port: 80, nodePort: 30080 }] });
    const dns = service({ name: 'dns', created: NEW, clusterIP: '10.96.0.12', lb: ['192.0.2.10'], ports: [{ port: 443, protocol: 'UDP', nodePort: 30053 }] });
    expect(programmed([https, http, dns])).toEqual(['dns', 'http', 'https']);
    expect(conflicts([https, http, dns])).toEqual([]);
    expect(build([https, http, dns]).servicePorts.map((sp) => `${sp.name} ${sp.loadBalancerIPs.join(',')} ${sp.protocol}/${sp.port}`)).toEqual([
      'dns 192.0.2.10 udp/443', 'http 192.0.2.10 tcp/80', 'https 192.0.2.10 tcp/443',
    ]);
  });

  test('an external IP and port claimed like a load-balancer IP: shared across ports, not on the same port', () => {
    const older = service({ name: 'older', created: OLD, clusterIP: '10.96.0.10', externalIPs: ['198.51.100.7'], ports: [{ port: 80 }] });
    const other = service({ name: 'other', created: NEW, clusterIP: '10.96.0.11', externalIPs: ['198.51.100.7'], ports: [{ port: 81 }] });
    const same = service({ name: 'same', created: NEW, clusterIP: '10.96.0.12', lb: ['198.51.100.7'], ports: [{ port: 80, nodePort: 30080 }] });
    expect(programmed([older, other, same])).toEqual(['older', 'other']);
    expect(conflicts([older, other, same])).toEqual(['Service default/same conflict: address 198.51.100.7 tcp/80 already belongs to Service default/older']);
  });

  test('another service\'s cluster IP is never a load-balancer IP, and the reverse', () => {
    const cluster = service({ name: 'cluster', created: OLD, clusterIP: '10.96.0.10' });
    const lb = service({ name: 'lb', created: NEW, clusterIP: '10.96.0.11', lb: ['10.96.0.10'], ports: [{ port: 8080, nodePort: 30080 }] });
    expect(programmed([cluster, lb])).toEqual(['cluster']);
    expect(conflicts([cluster, lb])).toEqual(['Service default/lb conflict: address 10.96.0.10 tcp/8080 already belongs to Service default/cluster']);

    const lbFirst = service({ name: 'lb', created: OLD, clusterIP: '10.96.0.11', lb: ['10.96.0.10'], ports: [{ port: 8080, nodePort: 30080 }] });
    const clusterLater = service({ name: 'cluster', created: NEW, clusterIP: '10.96.0.10' });
    expect(programmed([clusterLater, lbFirst])).toEqual(['lb']);
    expect(conflicts([clusterLater, lbFirst])).toEqual(['Service default/cluster conflict: clusterIP 10.96.0.10 already belongs to Service default/lb']);
  });

  test('a skipped service claims nothing: a third service may take what it asked for', () => {
    const first = service({ name: 'first', created: OLD, clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
    // Loses the cluster IP, so its node port 30081 stays free for the next one.
    const loser = service({ name: 'loser', created: NEW, clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ port: 80, nodePort: 30081 }] });
    const third = service({ name: 'third', created: '2026-03-01T00:00:00Z', clusterIP: '10.96.0.12', type: 'NodePort', ports: [{ port: 80, nodePort: 30081 }] });
    expect(programmed([first, loser, third])).toEqual(['first', 'third']);
  });
});
