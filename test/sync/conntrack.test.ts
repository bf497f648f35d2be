// Which UDP conntrack entries a sync deletes: those DNATed to an endpoint that is gone, and those
// that were never DNATed, for a service that now has endpoints; never the entries of flows that
// still go to a live endpoint (a restart of sluice must not move established flows).
import { describe, expect, test } from '@jest/globals';
import type { KubeObject } from '../../lib/k8s/objects.ts';
import { buildModel } from '../../lib/model/build.ts';
import type { ProxyModel } from '../../lib/model/types.ts';
import { conntrackArgs, conntrackDeletions } from '../../lib/sync/conntrack.ts';

function model(services: KubeObject[], slices: KubeObject[]): ProxyModel {
  return buildModel({ services, endpointSlices: slices, endpoints: [], nodes: [] }, 'node1');
}

function service(protocol: 'UDP' | 'TCP', nodePort?: number): KubeObject {
  return {
    kind: 'Service', metadata: { name: 'dns', namespace: 'lab' },
    spec: { type: nodePort ? 'NodePort' : 'ClusterIP', clusterIP: '10.96.0.53', ports: [{ port: 53, targetPort: 9376, protocol, nodePort }] },
  };
}

function slice(protocol: 'UDP' | 'TCP', ips: string[]): KubeObject {
  return {
    kind: 'EndpointSlice', metadata: { name: 'dns-1', namespace: 'lab', labels: { 'kubernetes.io/service-name': 'dns' } },
    addressType: 'IPv4', ports: [{ port: 9376, protocol }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

const udp = (ips: string[], nodePort?: number) => model([service('UDP', nodePort)], [slice('UDP', ips)]);

describe('conntrackDeletions', () => {
  test('an endpoint gone: the entries DNATed to it, at every address and node port of the service', () => {
    expect(conntrackDeletions(udp(['10.244.1.11', '10.244.2.11'], 30053), udp(['10.244.1.11'], 30053))).toEqual([
      { family: 4, origDst: '10.96.0.53', dstNat: '10.244.2.11' },
      { family: 4, dport: 30053, dstNat: '10.244.2.11' },
    ]);
  });

  test('the service gone: the entries DNATed to any of its endpoints', () => {
    expect(conntrackDeletions(udp(['10.244.1.11']), model([], []))).toEqual([{ family: 4, origDst: '10.96.0.53', dstNat: '10.244.1.11' }]);
  });

  test('at start-up, and when a service gets its first endpoint: only entries that were never DNATed', () => {
    const expected = [
      { family: 4, origDst: '10.96.0.53', dport: 53, replySrc: '10.96.0.53' },
      { family: 4, dport: 30053, replySport: 30053 },
    ];
    expect(conntrackDeletions(undefined, udp(['10.244.1.11'], 30053))).toEqual(expected);
    expect(conntrackDeletions(udp([], 30053), udp(['10.244.1.11'], 30053))).toEqual(expected);
  });

  test('nothing for unchanged endpoints, for endpoints added to a service that had some, or for TCP', () => {
    expect(conntrackDeletions(udp(['10.244.1.11']), udp(['10.244.1.11']))).toEqual([]);
    expect(conntrackDeletions(udp(['10.244.1.11']), udp(['10.244.1.11', '10.244.2.11']))).toEqual([]);
    const tcp = (ips: string[]) => model([service('TCP')], [slice('TCP', ips)]);
    expect(conntrackDeletions(undefined, tcp(['10.244.1.11']))).toEqual([]);
    expect(conntrackDeletions(tcp(['10.244.1.11', '10.244.2.11']), tcp(['10.244.1.11']))).toEqual([]);
  });

  test('as conntrack arguments', () => {
    expect(conntrackArgs({ family: 4, origDst: '10.96.0.53', dstNat: '10.244.2.11' })).toEqual(['-D', '-f', 'ipv4', '-p', 'udp', '--orig-dst', '10.96.0.53', '--dst-nat', '10.244.2.11']);
    expect(conntrackArgs({ family: 4, origDst: '10.96.0.53', dport: 53, replySrc: '10.96.0.53' })).toEqual(['-D', '-f', 'ipv4', '-p', 'udp', '--orig-dst', '10.96.0.53', '--dport', '53', '--reply-src', '10.96.0.53']);
    expect(conntrackArgs({ family: 6, dport: 30053, replySport: 30053 })).toEqual(['-D', '-f', 'ipv6', '-p', 'udp', '--dport', '30053', '--reply-port-src', '30053']);
  });
});
