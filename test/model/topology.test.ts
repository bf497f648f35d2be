// categorizeEndpoints with topology hints, against kube-proxy 1.37's CategorizeEndpoints
// (pkg/proxy/topology.go): which hints narrow the cluster endpoints on this node, the fallbacks,
// and how they meet the traffic policies and terminating endpoints. Our own table of cases.
import { describe, expect, test } from '@jest/globals';
import { categorizeEndpoints } from '../../lib/model/categorize.ts';
import { chooseTopology, describeTopology, type TopologyChoice } from '../../lib/model/topology.ts';
import type { Endpoint, ServicePort } from '../../lib/model/types.ts';

const NODE = 'node1';

type State = 'ready' | 'serving-terminating' | 'not-ready';
interface Hints { zones?: string[]; nodes?: string[] }

/** An endpoint 10.0.<n>.<i> on node n (0: no node name), with hints. */
function ep(address: string, state: State, hints: Hints = {}, nodeName?: string): Endpoint {
  const conditions = {
    'ready': { ready: true, serving: true, terminating: false },
    'serving-terminating': { ready: false, serving: true, terminating: true },
    'not-ready': { ready: false, serving: false, terminating: false },
  }[state];
  const node = nodeName ?? (address.startsWith('10.0.1.') ? 'node1' : address.startsWith('10.0.2.') ? 'node2' : 'node3');
  const e: Endpoint = { address, port: 8080, nodeName: node, ...conditions };
  if (hints.zones) e.zoneHints = hints.zones;
  if (hints.nodes) e.nodeHints = hints.nodes;
  return e;
}

function port(endpoints: Endpoint[], o: Partial<ServicePort> = {}): ServicePort {
  return {
    namespace: 'shop', name: 'web', portName: 'http', protocol: 'tcp', family: 4, clusterIP: '10.96.0.10', port: 80,
    externalIPs: [], loadBalancerIPs: [], sourceRanges: [], externalPolicyLocal: false, internalPolicyLocal: false,
    endpoints, ...o,
  };
}

const a = { zones: ['zone-a'] };
const b = { zones: ['zone-b'] };
const c = { zones: ['zone-c'] };
const addresses = (eps: Endpoint[]) => eps.map((e) => e.address);

interface Case {
  name: string;
  zone?: string;
  endpoints: Endpoint[];
  policy?: Partial<ServicePort>;
  cluster: string[];
  local?: string[];
  reachable?: string[];
  topology: TopologyChoice;
}

const nodePort = { nodePort: 30080 };

const cases: Case[] = [
  {
    name: 'zone hints on every ready endpoint, some for this zone: PreferSameZone keeps those',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready', b), ep('10.0.3.1', 'ready', c), ep('10.0.2.2', 'ready', a)],
    cluster: ['10.0.1.1', '10.0.2.2'],
    topology: { mode: 'PreferSameZone' },
  },
  {
    name: 'an endpoint hinted for several zones serves each of them',
    zone: 'zone-c',
    endpoints: [ep('10.0.1.1', 'ready', { zones: ['zone-a', 'zone-c'] }), ep('10.0.2.1', 'ready', { zones: ['zone-b', 'zone-d'] }), ep('10.0.3.1', 'ready', c)],
    cluster: ['10.0.1.1', '10.0.3.1'],
    topology: { mode: 'PreferSameZone' },
  },
  {
    name: 'one ready endpoint without a zone hint: every ready endpoint',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready', b), ep('10.0.3.1', 'ready')],
    cluster: ['10.0.1.1', '10.0.2.1', '10.0.3.1'],
    topology: { mode: 'none', fallback: { reason: 'endpoint-without-zone-hint', message: 'an endpoint has no zone hint' } },
  },
  {
    name: 'an endpoint without hints that is not ready does not count',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready', b), ep('10.0.3.1', 'not-ready')],
    cluster: ['10.0.1.1'],
    topology: { mode: 'PreferSameZone' },
  },
  {
    name: 'a hinted endpoint that is not ready is left out like any other',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready', b), ep('10.0.1.2', 'not-ready', a)],
    cluster: ['10.0.1.1'],
    topology: { mode: 'PreferSameZone' },
  },
  {
    name: 'only endpoints that are not ready are hinted for this zone: every ready endpoint',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'not-ready', a), ep('10.0.2.1', 'ready', b), ep('10.0.3.1', 'ready', c)],
    cluster: ['10.0.2.1', '10.0.3.1'],
    topology: { mode: 'none', fallback: { reason: 'no-endpoint-for-zone', message: 'no endpoint hinted for zone zone-a' } },
  },
  {
    name: 'the node has no zone label: zone hints unused',
    endpoints: [ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready', b)],
    cluster: ['10.0.1.1', '10.0.2.1'],
    topology: { mode: 'none', fallback: { reason: 'no-zone-label', message: 'node has no topology.kubernetes.io/zone label' } },
  },
  {
    name: 'no hint for this node\'s zone: every ready endpoint',
    zone: 'zone-c',
    endpoints: [ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready', b)],
    cluster: ['10.0.1.1', '10.0.2.1'],
    topology: { mode: 'none', fallback: { reason: 'no-endpoint-for-zone', message: 'no endpoint hinted for zone zone-c' } },
  },
  {
    name: 'no hints at all: every ready endpoint, nothing fell back',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'ready'), ep('10.0.2.1', 'ready')],
    cluster: ['10.0.1.1', '10.0.2.1'],
    topology: { mode: 'none' },
  },
  {
    name: 'node hints on every ready endpoint, one for this node: PreferSameNode, zone hints aside',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'ready', { nodes: ['node1'], zones: ['zone-a'] }), ep('10.0.2.1', 'ready', { nodes: ['node2'], zones: ['zone-a'] }), ep('10.0.2.2', 'ready', { nodes: ['node2'], zones: ['zone-b'] })],
    cluster: ['10.0.1.1'],
    topology: { mode: 'PreferSameNode' },
  },
  {
    name: 'PreferSameNode needs no zone: neither a zone label nor zone hints',
    endpoints: [ep('10.0.1.1', 'ready', { nodes: ['node1'] }), ep('10.0.2.1', 'ready', { nodes: ['node2'] })],
    cluster: ['10.0.1.1'],
    topology: { mode: 'PreferSameNode' },
  },
  {
    name: 'PreferSameNode wins over incomplete zone hints',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'ready', { nodes: ['node1'] }), ep('10.0.2.1', 'ready', { nodes: ['node2'], zones: ['zone-a'] })],
    cluster: ['10.0.1.1'],
    topology: { mode: 'PreferSameNode' },
  },
  {
    name: 'no endpoint hinted for this node: falls back to the zone hints',
    zone: 'zone-a',
    endpoints: [ep('10.0.2.1', 'ready', { nodes: ['node2'], zones: ['zone-a'] }), ep('10.0.2.2', 'ready', { nodes: ['node2'], zones: ['zone-b'] })],
    cluster: ['10.0.2.1'],
    topology: { mode: 'PreferSameZone', fallback: { reason: 'no-endpoint-for-node', message: 'no endpoint hinted for node node1' } },
  },
  {
    name: 'an endpoint without a node hint: falls back to the zone hints',
    zone: 'zone-b',
    endpoints: [ep('10.0.1.1', 'ready', { nodes: ['node1'], zones: ['zone-a'] }), ep('10.0.2.2', 'ready', b)],
    cluster: ['10.0.2.2'],
    topology: { mode: 'PreferSameZone', fallback: { reason: 'endpoint-without-node-hint', message: 'an endpoint has no node hint' } },
  },
  {
    name: 'node hints for other nodes and no zone hints: every ready endpoint, the node hints\' reason',
    zone: 'zone-a',
    endpoints: [ep('10.0.2.1', 'ready', { nodes: ['node2'] }), ep('10.0.3.1', 'ready', { nodes: ['node3'] })],
    cluster: ['10.0.2.1', '10.0.3.1'],
    topology: { mode: 'none', fallback: { reason: 'no-endpoint-for-node', message: 'no endpoint hinted for node node1' } },
  },
  {
    name: 'neither kind fits: every ready endpoint, the zone hints\' reason (the last tried)',
    zone: 'zone-c',
    endpoints: [ep('10.0.2.1', 'ready', { nodes: ['node2'], zones: ['zone-a'] }), ep('10.0.3.1', 'ready', { nodes: ['node3'], zones: ['zone-b'] })],
    cluster: ['10.0.2.1', '10.0.3.1'],
    topology: { mode: 'none', fallback: { reason: 'no-endpoint-for-zone', message: 'no endpoint hinted for zone zone-c' } },
  },
  {
    name: 'none ready: the serving-terminating ones, hints ignored',
    zone: 'zone-a',
    endpoints: [ep('10.0.1.1', 'serving-terminating', a), ep('10.0.2.1', 'serving-terminating', b), ep('10.0.3.1', 'not-ready', a)],
    cluster: ['10.0.1.1', '10.0.2.1'],
    topology: { mode: 'none' },
  },
  {
    name: 'internal policy Local, not externally reachable: no cluster endpoints, no topology; local ones ignore hints',
    zone: 'zone-a',
    policy: { internalPolicyLocal: true },
    endpoints: [ep('10.0.1.1', 'ready', a), ep('10.0.1.2', 'ready', b), ep('10.0.2.1', 'ready', a)],
    cluster: [], local: ['10.0.1.1', '10.0.1.2'], reachable: ['10.0.1.1', '10.0.1.2'],
    topology: { mode: 'none' },
  },
  {
    name: 'external policy Local: cluster endpoints (the short-circuit) by topology, local ones all, reachable both',
    zone: 'zone-a',
    policy: { externalPolicyLocal: true, ...nodePort },
    endpoints: [ep('10.0.1.1', 'ready', a), ep('10.0.1.2', 'ready', b), ep('10.0.2.1', 'ready', a), ep('10.0.2.2', 'ready', b)],
    cluster: ['10.0.1.1', '10.0.2.1'], local: ['10.0.1.1', '10.0.1.2'], reachable: ['10.0.1.1', '10.0.1.2', '10.0.2.1'],
    topology: { mode: 'PreferSameZone' },
  },
  {
    name: 'internal Local, external Cluster on a node port: cluster endpoints by topology, local ones all',
    zone: 'zone-a',
    policy: { internalPolicyLocal: true, ...nodePort },
    endpoints: [ep('10.0.1.1', 'ready', b), ep('10.0.2.1', 'ready', a), ep('10.0.3.1', 'ready', c)],
    cluster: ['10.0.2.1'], local: ['10.0.1.1'], reachable: ['10.0.1.1', '10.0.2.1'],
    topology: { mode: 'PreferSameZone' },
  },
  {
    name: 'external policy Local, this node\'s endpoint terminating: local is it, cluster the ready ones by topology',
    zone: 'zone-a',
    policy: { externalPolicyLocal: true, ...nodePort },
    endpoints: [ep('10.0.1.1', 'serving-terminating', a), ep('10.0.2.1', 'ready', a), ep('10.0.3.1', 'ready', b)],
    cluster: ['10.0.2.1'], local: ['10.0.1.1'], reachable: ['10.0.1.1', '10.0.2.1'],
    topology: { mode: 'PreferSameZone' },
  },
];

describe('categorizeEndpoints with topology hints', () => {
  test.each(cases)('$name', (k) => {
    const r = categorizeEndpoints(port(k.endpoints, k.policy), NODE, k.zone);
    expect({
      cluster: addresses(r.cluster), local: addresses(r.local), reachable: addresses(r.reachable), topology: r.topology,
    }).toEqual({ cluster: k.cluster, local: k.local ?? [], reachable: k.reachable ?? k.cluster, topology: k.topology });
    // Hints never make a service look endpoint-less: hasAny is what it is without them.
    const unhinted = port(k.endpoints.map(({ zoneHints: _z, nodeHints: _n, ...e }) => e), k.policy);
    expect(r.hasAny).toBe(categorizeEndpoints(unhinted, NODE).hasAny);
  });

  test('the node name alone (no zone given): node hints apply, zone hints do not', () => {
    const nodeHinted = port([ep('10.0.1.1', 'ready', { nodes: ['node1'] }), ep('10.0.2.1', 'ready', { nodes: ['node2'] })]);
    expect(addresses(categorizeEndpoints(nodeHinted, NODE).cluster)).toEqual(['10.0.1.1']);
    const zoneHinted = port([ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready', b)]);
    expect(categorizeEndpoints(zoneHinted, NODE).topology.fallback?.reason).toBe('no-zone-label');
  });

  test('another node of the same zone picks the same endpoints; a node of another zone its own', () => {
    const sp = port([ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready', b), ep('10.0.3.1', 'ready', a)]);
    expect(addresses(categorizeEndpoints(sp, 'node7', 'zone-a').cluster)).toEqual(['10.0.1.1', '10.0.3.1']);
    expect(addresses(categorizeEndpoints(sp, 'node8', 'zone-b').cluster)).toEqual(['10.0.2.1']);
  });
});

describe('describeTopology', () => {
  const node = { name: 'node1', zone: 'zone-a' };
  test('says the mode, the node or zone and how many endpoints it kept', () => {
    expect(describeTopology({ mode: 'PreferSameZone' }, node, 2, 4)).toBe('topology PreferSameZone: zone zone-a, 2 of 4 ready endpoints');
    expect(describeTopology({ mode: 'PreferSameNode' }, node, 1, 4)).toBe('topology PreferSameNode: node node1, 1 of 4 ready endpoints');
    expect(describeTopology({ mode: 'PreferSameZone', fallback: { reason: 'no-endpoint-for-node', message: 'no endpoint hinted for node node1' } }, node, 1, 3))
      .toBe('topology PreferSameZone (node hints unused: no endpoint hinted for node node1): zone zone-a, 1 of 3 ready endpoints');
  });

  test('says why hints went unused, and nothing when there were none', () => {
    const unused = chooseTopology([ep('10.0.1.1', 'ready', a), ep('10.0.2.1', 'ready')], node);
    expect(describeTopology(unused, node, 2, 2)).toBe('topology hints unused: an endpoint has no zone hint; all 2 ready endpoints');
    expect(describeTopology(chooseTopology([ep('10.0.1.1', 'ready')], node), node, 1, 1)).toBeUndefined();
  });
});
