// Which UDP conntrack entries the reconciler deletes, decided from the entries conntrack lists and the
// current model alone: entries whose replies do not come from a serving endpoint of the service port
// they were sent to (a removed endpoint, one no longer serving, or no DNAT at all while the service
// has endpoints); never those of a flow to an endpoint still serving, terminating or not.
import { describe, expect, test } from '@jest/globals';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { buildModel } from '../../lib/model/build.ts';
import type { ProxyModel } from '../../lib/model/types.ts';
import { createMetrics } from '../../lib/serve/metrics.ts';
import { listArgs, parseFlowLine, type UdpEntry } from '../../lib/sync/conntrack-entries.ts';
import { deleteArgs, isStale, servingIndex, staleFlows } from '../../lib/sync/conntrack-stale.ts';

interface Pod { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean }

const CLUSTER_IP = '10.96.0.53';
const EXTERNAL_IP = '192.0.2.10';
const LB_IP = '198.51.100.7';
const NODE_IP = '172.30.0.1';

function service(o: { protocol?: 'UDP' | 'TCP'; nodePort?: number; name?: string; clusterIP?: string; port?: number } = {}): KubeObject {
  return {
    kind: 'Service', metadata: { name: o.name ?? 'dns', namespace: 'lab' },
    spec: {
      type: o.nodePort ? 'LoadBalancer' : 'ClusterIP', clusterIP: o.clusterIP ?? CLUSTER_IP, externalIPs: o.nodePort ? [EXTERNAL_IP] : [],
      ports: [{ port: o.port ?? 53, targetPort: 9376, protocol: o.protocol ?? 'UDP', nodePort: o.nodePort }],
    },
    status: o.nodePort ? { loadBalancer: { ingress: [{ ip: LB_IP }] } } : {},
  };
}

function slice(pods: Pod[], o: { protocol?: 'UDP' | 'TCP'; port?: number; name?: string; family?: 4 | 6 } = {}): KubeObject {
  return {
    kind: 'EndpointSlice', metadata: { name: `${o.name ?? 'dns'}-1`, namespace: 'lab', labels: { 'kubernetes.io/service-name': o.name ?? 'dns' } },
    addressType: o.family === 6 ? 'IPv6' : 'IPv4', ports: [{ port: o.port ?? 9376, protocol: o.protocol ?? 'UDP' }],
    endpoints: pods.map((p) => ({
      addresses: [p.ip], nodeName: p.node ?? 'node2',
      conditions: { ready: p.ready ?? true, serving: p.serving ?? p.ready ?? true, terminating: p.terminating ?? false },
    })),
  };
}

function model(services: KubeObject[], slices: KubeObject[]): ProxyModel {
  return buildModel({ services, endpointSlices: slices, endpoints: [], nodes: [] }, 'node1');
}

const dns = (pods: Pod[], nodePort?: number) => model([service({ nodePort })], [slice(pods)]);

let nextPort = 40000;
/** An entry from a client to `dst:dport` whose replies come from `reply` (default: `dst`, never DNATed). */
function entry(dst: string, dport: number, reply?: string, replyPort = 9376): UdpEntry {
  const sport = nextPort++;
  return { family: dst.includes(':') ? 6 : 4, origSrc: '10.0.0.2', origDst: dst, origSport: sport, origDport: dport, replySrc: reply ?? dst, replySport: reply ? replyPort : dport };
}

const stale = (entries: UdpEntry[], m: ProxyModel, family: 4 | 6 = 4) => staleFlows(entries, servingIndex(m, family));
const flowTo = (dst: string, dport: number, replySrc: string, replySport: number) => ({ family: 4, origDst: dst, origDport: dport, replySrc, replySport });

const PA = '10.244.1.11', PB = '10.244.2.11', PC = '10.244.2.12';

describe('the stale-entry decision', () => {
  test('a flow to a removed endpoint is deleted; the flows to the endpoints that stay are kept', () => {
    const entries = [entry(CLUSTER_IP, 53, PA), entry(CLUSTER_IP, 53, PB), entry(CLUSTER_IP, 53, PB)];
    expect(stale(entries, dns([{ ip: PA }]))).toEqual([flowTo(CLUSTER_IP, 53, PB, 9376)]);
    expect(stale(entries, dns([{ ip: PA }, { ip: PB }]))).toEqual([]);
  });

  test('a flow to a terminating endpoint that is still serving is kept, though new flows go to the ready ones', () => {
    const entries = [entry(CLUSTER_IP, 53, PA), entry(CLUSTER_IP, 53, PB)];
    const draining = dns([{ ip: PA }, { ip: PB, ready: false, serving: true, terminating: true }]);
    expect(stale(entries, draining)).toEqual([]);
    // Once it stops serving, its flow goes.
    const gone = dns([{ ip: PA }, { ip: PB, ready: false, serving: false, terminating: true }]);
    expect(stale(entries, gone)).toEqual([flowTo(CLUSTER_IP, 53, PB, 9376)]);
  });

  test('an entry that was never DNATed is deleted once its service has endpoints, and left alone while it has none', () => {
    const undnated = [entry(CLUSTER_IP, 53)];
    expect(stale(undnated, dns([{ ip: PA }]))).toEqual([flowTo(CLUSTER_IP, 53, CLUSTER_IP, 53)]);
    expect(stale(undnated, dns([]))).toEqual([]);
    // Deleting entries of a service with no serving endpoint would only send the next datagram to the same reject.
    expect(stale([entry(CLUSTER_IP, 53, PB)], dns([{ ip: PA, ready: false, serving: false, terminating: true }]))).toEqual([]);
  });

  test('an entry made while sluice was not running is found from the entries and the current model alone', () => {
    // sluice stopped with PA and PB; the rules it left sent this client to PB; PB was removed before
    // sluice came back. No earlier model is needed to see that the entry is stale.
    const whileDown = entry(CLUSTER_IP, 53, PB);
    const atStart = dns([{ ip: PA }]);
    expect(stale([whileDown, entry(CLUSTER_IP, 53, PA)], atStart)).toEqual([flowTo(CLUSTER_IP, 53, PB, 9376)]);
  });

  test('the endpoint is its address and port: a flow to an old target port is stale', () => {
    expect(stale([entry(CLUSTER_IP, 53, PA, 9376), entry(CLUSTER_IP, 53, PA, 5353)], dns([{ ip: PA }]))).toEqual([flowTo(CLUSTER_IP, 53, PA, 5353)]);
  });

  test('every front door: cluster, external and load-balancer IPs by address and port, node ports by port', () => {
    const m = dns([{ ip: PA }], 30053);
    const doors: [string, number][] = [[CLUSTER_IP, 53], [EXTERNAL_IP, 53], [LB_IP, 53], [NODE_IP, 30053], ['10.0.0.1', 30053]];
    for (const [dst, port] of doors) {
      expect(stale([entry(dst, port, PA)], m)).toEqual([]);
      expect(stale([entry(dst, port, PB)], m)).toEqual([flowTo(dst, port, PB, 9376)]);
      expect(stale([entry(dst, port)], m)).toEqual([flowTo(dst, port, dst, port)]);
    }
    // Other ports of those addresses are not the service's.
    expect(stale([entry(CLUSTER_IP, 54, PB), entry(EXTERNAL_IP, 80, PB)], m)).toEqual([]);
  });

  test('a service address decides alone: its entries are not judged as another service\'s node port of the same number', () => {
    const m = model(
      [service({ name: 'dns', port: 30053, clusterIP: '10.96.0.60' }), service({ name: 'other', nodePort: 30053, clusterIP: '10.96.0.61' })],
      [slice([{ ip: PA }], { name: 'dns' }), slice([{ ip: PC }], { name: 'other' })],
    );
    expect(stale([entry('10.96.0.60', 30053, PA)], m)).toEqual([]);
    expect(stale([entry(NODE_IP, 30053, PA)], m)).toEqual([flowTo(NODE_IP, 30053, PA, 9376)]);
  });

  test('TCP services and entries of the other family are not touched', () => {
    const tcp = model([service({ protocol: 'TCP' })], [slice([{ ip: PA }], { protocol: 'TCP' })]);
    expect(stale([entry(CLUSTER_IP, 53, PB), entry(CLUSTER_IP, 53)], tcp)).toEqual([]);
    const v4 = dns([{ ip: PA }]);
    expect(isStale(entry(CLUSTER_IP, 53, PB), servingIndex(v4, 6))).toBe(false);
  });

  test('IPv6: the same decision on canonical addresses', () => {
    const m = model([{
      kind: 'Service', metadata: { name: 'dns6', namespace: 'lab' },
      spec: { clusterIP: 'fd00:96::53', ipFamilies: ['IPv6'], ports: [{ port: 53, targetPort: 9376, protocol: 'UDP' }] },
    }], [slice([{ ip: 'fd00:244:1::11' }], { name: 'dns6', family: 6 })]);
    const kept = entry('fd00:96::53', 53, 'fd00:244:1::11');
    const gone = entry('fd00:96::53', 53, 'fd00:244:2::11');
    expect(staleFlows([kept, gone], servingIndex(m, 6))).toEqual([{ family: 6, origDst: 'fd00:96::53', origDport: 53, replySrc: 'fd00:244:2::11', replySport: 9376 }]);
  });

  test('many entries of one stale (door, endpoint) make one deletion', () => {
    const entries = Array.from({ length: 500 }, () => entry(CLUSTER_IP, 53, PB));
    expect(stale(entries, dns([{ ip: PA }]))).toHaveLength(1);
  });

  test('a deletion as conntrack arguments: the four fields that decided it', () => {
    expect(deleteArgs({ family: 4, origDst: CLUSTER_IP, origDport: 53, replySrc: PB, replySport: 9376 })).toEqual([
      '-D', '-f', 'ipv4', '-p', 'udp', '--orig-dst', CLUSTER_IP, '--orig-port-dst', '53', '--reply-src', PB, '--reply-port-src', '9376',
    ]);
    expect(deleteArgs({ family: 6, origDst: 'fd00:96::53', origDport: 53, replySrc: 'fd00:96::53', replySport: 53 }).slice(0, 3)).toEqual(['-D', '-f', 'ipv6']);
  });
});

// Lines as conntrack-tools 1.4.7 prints them with `-L -o xml` (one <flow> per line).
const XML_DNAT = '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.96.0.53</dst></layer3><layer4 protonum="17" protoname="udp"><sport>40001</sport><dport>53</dport></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.244.1.11</src><dst>10.0.0.1</dst></layer3><layer4 protonum="17" protoname="udp"><sport>9376</sport><dport>40001</dport></layer4></meta><meta direction="independent"><timeout>119</timeout><mark>0</mark><use>1</use><id>4009981427</id><unreplied/></meta></flow>';
const XML_V6 = '<flow><meta direction="original"><layer3 protonum="10" protoname="ipv6"><src>fd00::1</src><dst>fd00:96::53</dst></layer3><layer4 protonum="17" protoname="udp"><sport>40001</sport><dport>53</dport></layer4></meta><meta direction="reply"><layer3 protonum="10" protoname="ipv6"><src>fd00:244::11</src><dst>fd00::1</dst></layer3><layer4 protonum="17" protoname="udp"><sport>9376</sport><dport>40001</dport></layer4></meta><meta direction="independent"><timeout>119</timeout><mark>0</mark><use>1</use><id>2844771287</id><unreplied/></meta></flow>';

describe('reading conntrack -L -o xml', () => {
  test('the original tuple and the reply source of a DNATed entry, either family', () => {
    expect(parseFlowLine(XML_DNAT)).toEqual({ family: 4, origSrc: '10.0.0.1', origDst: '10.96.0.53', origSport: 40001, origDport: 53, replySrc: '10.244.1.11', replySport: 9376 });
    expect(parseFlowLine(XML_V6)).toEqual({ family: 6, origSrc: 'fd00::1', origDst: 'fd00:96::53', origSport: 40001, origDport: 53, replySrc: 'fd00:244::11', replySport: 9376 });
  });

  test('addresses come out canonical, so they compare equal to the model\'s', () => {
    expect(parseFlowLine(XML_V6.replace('<src>fd00:244::11</src>', '<src>FD00:0244:0:0::11</src>'))?.replySrc).toBe('fd00:244::11');
  });

  test('other lines, other protocols and anything not a valid address or port are skipped', () => {
    for (const line of ['<?xml version="1.0" encoding="utf-8"?>', '<conntrack>', '</conntrack>', '', 'udp      17 29 src=10.0.0.1 dst=10.96.0.53']) expect(parseFlowLine(line)).toBeUndefined();
    const bad = [
      XML_DNAT.replaceAll('protonum="17" protoname="udp"', 'protonum="6" protoname="tcp"'),
      XML_DNAT.replace('<src>10.244.1.11</src>', '<src>10.244.1.300</src>'),
      XML_DNAT.replace('<src>10.244.1.11</src>', '<src>--flush</src>'),
      XML_DNAT.replace('<src>10.244.1.11</src>', '<src>fd00::1</src>'),
      XML_DNAT.replace('<sport>9376</sport>', '<sport>70000</sport>'),
      XML_DNAT.replace('<dport>53</dport>', '<dport>-1</dport>'),
      XML_DNAT.replace(/<meta direction="reply">.*?<\/meta>/, ''),
    ];
    for (const line of bad) expect(parseFlowLine(line)).toBeUndefined();
  });

  test('the listing asks for one family\'s UDP entries in that format', () => {
    expect(listArgs(6)).toEqual(['-L', '-f', 'ipv6', '-p', 'udp', '-o', 'xml']);
  });
});

describe('the reconciler\'s metrics', () => {
  test('kube-proxy\'s names, help, buckets (1 ms doubling to 16.384 s) and ip_family label, both families from the start', async () => {
    const text = await createMetrics({ families: ['IPv4', 'IPv6'], processMetrics: false }).registry.metrics();
    expect(text).toContain('# HELP kubeproxy_conntrack_reconciler_sync_duration_seconds ReconcileConntrackFlowsLatency latency in seconds\n# TYPE kubeproxy_conntrack_reconciler_sync_duration_seconds histogram\n');
    expect(text).toContain('# HELP kubeproxy_conntrack_reconciler_deleted_entries_total Cumulative conntrack flows deleted by conntrack reconciler\n# TYPE kubeproxy_conntrack_reconciler_deleted_entries_total counter\n');
    const buckets = [...text.matchAll(/^kubeproxy_conntrack_reconciler_sync_duration_seconds_bucket\{le="([^"]+)",ip_family="IPv6"\} 0$/gm)].map((m) => m[1]);
    expect(buckets).toEqual([...Array.from({ length: 15 }, (_, i) => String(0.001 * 2 ** i)), '+Inf']);
    for (const f of ['IPv4', 'IPv6']) expect(text).toContain(`kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="${f}"} 0\n`);
  });
});
