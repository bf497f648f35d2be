// Topology from the objects: EndpointSlice hints and the Node's zone label into the model, invalid
// ones skipped with a warning, and a zone change re-planning the rules.
import { describe, expect, test } from '@jest/globals';
import { DEFAULT_CONFIG } from '../../lib/config/kube-proxy-config.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { buildModel } from '../../lib/model/build.ts';
import { readEndpointSlice } from '../../lib/model/endpoint-slices.ts';
import { readNode } from '../../lib/model/node.ts';
import { planRuleset } from '../../lib/plan/plan.ts';

const ZONE = 'topology.kubernetes.io/zone';

function slice(endpoints: unknown[]): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints,
  };
}

const service: KubeObject = {
  kind: 'Service', metadata: { name: 'web', namespace: 'shop' },
  spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
};

function node(labels?: Record<string, unknown>): KubeObject {
  return { kind: 'Node', metadata: { name: 'node1', labels: labels as Record<string, string> }, status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }] } };
}

const hinted = (ip: string, zones?: unknown[], nodes?: unknown[]) => ({
  addresses: [ip], nodeName: 'node1', conditions: { ready: true }, hints: { ...(zones && { forZones: zones }), ...(nodes && { forNodes: nodes }) },
});

describe('EndpointSlice hints', () => {
  test('forZones and forNodes names reach the model\'s endpoints; none, or empty lists, are no hints', () => {
    const r = readEndpointSlice(slice([
      hinted('10.0.0.1', [{ name: 'zone-a' }, { name: 'zone-b' }], [{ name: 'node1' }]),
      hinted('10.0.0.2', [], []),
      { addresses: ['10.0.0.3'], hints: null },
      { addresses: ['10.0.0.4'] },
    ]));
    expect(r.skipped).toEqual([]);
    const eps = r.groups[0].endpoints.map((e) => ({ address: e.address, zoneHints: e.zoneHints, nodeHints: e.nodeHints }));
    expect(eps).toEqual([
      { address: '10.0.0.1', zoneHints: ['zone-a', 'zone-b'], nodeHints: ['node1'] },
      { address: '10.0.0.2', zoneHints: undefined, nodeHints: undefined },
      { address: '10.0.0.3', zoneHints: undefined, nodeHints: undefined },
      { address: '10.0.0.4', zoneHints: undefined, nodeHints: undefined },
    ]);
    const model = buildModel({ services: [service], endpointSlices: [slice([hinted('10.0.0.1', [{ name: 'zone-a' }], [{ name: 'node1' }])])], endpoints: [], nodes: [] }, 'node1');
    expect(model.servicePorts[0].endpoints[0]).toMatchObject({ address: '10.0.0.1', zoneHints: ['zone-a'], nodeHints: ['node1'] });
  });

  test.each([
    ['a zone name that is not a label value', hinted('10.0.0.2', [{ name: 'zone a' }]), 'endpoints[1].hints.forZones[0].name "zone a" is not a valid zone name'],
    ['an empty zone name', hinted('10.0.0.2', [{ name: '' }]), 'endpoints[1].hints.forZones[0].name "" is not a valid zone name'],
    ['a zone name that is too long', hinted('10.0.0.2', [{ name: 'z'.repeat(64) }]), `endpoints[1].hints.forZones[0].name "${'z'.repeat(64)}" is not a valid zone name`],
    ['a zone hint without a name', hinted('10.0.0.2', [{ zone: 'zone-a' }]), 'endpoints[1].hints.forZones[0].name undefined is not a valid zone name'],
    ['a node name that is not one', hinted('10.0.0.2', undefined, [{ name: 'Node_1' }]), 'endpoints[1].hints.forNodes[0].name "Node_1" is not a valid node name'],
    ['forZones that is not a list', { addresses: ['10.0.0.2'], hints: { forZones: 'zone-a' } }, 'endpoints[1].hints.forZones is not a list'],
    ['hints that are not an object', { addresses: ['10.0.0.2'], hints: ['zone-a'] }, 'endpoints[1].hints is not an object'],
  ])('%s: that endpoint is skipped with a warning, the others kept', (_what, bad, message) => {
    const r = readEndpointSlice(slice([hinted('10.0.0.1', [{ name: 'zone-a' }]), bad, hinted('10.0.0.3', [{ name: 'zone-b' }])]));
    expect(r.groups[0].endpoints.map((e) => e.address)).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(r.skipped).toEqual([{ reason: 'invalid-hint', message }]);
  });

  test('the warning names the EndpointSlice', () => {
    const model = buildModel({ services: [service], endpointSlices: [slice([hinted('10.0.0.1', [{ name: 'zone/a' }])])], endpoints: [], nodes: [] }, 'node1');
    expect(model.problems).toEqual([{ kind: 'EndpointSlice', object: 'shop/web-1', reason: 'invalid-hint', message: 'endpoints[0].hints.forZones[0].name "zone/a" is not a valid zone name', scope: 'endpoint' }]);
  });
});

describe('the Node\'s zone', () => {
  test('is its topology.kubernetes.io/zone label', () => {
    expect(readNode('node1', node({ [ZONE]: 'eu-west-1a' }))).toEqual({ facts: expect.objectContaining({ zone: 'eu-west-1a', internalIPs: ['172.30.0.1'] }), ignored: [] });
  });

  test('is absent without the label, with an empty one, and without a Node', () => {
    for (const labels of [undefined, {}, { [ZONE]: '' }]) {
      const r = readNode('node1', node(labels));
      expect(r.ignored).toEqual([]);
      expect(r.facts.zone).toBeUndefined();
    }
    expect(readNode('node1', undefined).facts.zone).toBeUndefined();
  });

  test.each([['zone a'], ['-zone'], ['z'.repeat(64)], [7]])('an invalid label %p: a warning naming the Node, no zone, the rest of the Node used', (bad) => {
    const model = buildModel({ services: [], endpointSlices: [], endpoints: [], nodes: [node({ [ZONE]: bad })] }, 'node1');
    expect(model.node.zone).toBeUndefined();
    expect(model.node.internalIPs).toEqual(['172.30.0.1']);
    expect(model.problems).toEqual([{
      kind: 'Node', object: 'node1', reason: 'invalid-zone-label',
      message: `label ${ZONE} ${JSON.stringify(bad)} is not a valid label value: zone hints are not used`, scope: 'field',
    }]);
  });
});

describe('a zone change re-plans', () => {
  const objects = (zone: string) => ({
    services: [service],
    endpointSlices: [slice([hinted('10.0.0.1', [{ name: 'zone-a' }]), hinted('10.0.0.2', [{ name: 'zone-b' }])])],
    endpoints: [], nodes: [node({ [ZONE]: zone })],
  });
  const svcChain = (zone: string, endpointSlices = objects(zone).endpointSlices) => {
    const ruleset = planRuleset(buildModel({ ...objects(zone), endpointSlices }, 'node1'), DEFAULT_CONFIG);
    return ruleset.tables[0].chains.find((c) => c.name.startsWith('svc/'))!;
  };
  const targets = (c: { rules: { op: string; address?: string }[] }) => c.rules.filter((r) => r.address).map((r) => r.address);

  test('the same service port objects, a new zone: the chain follows the zone, not a cached plan', () => {
    // One EndpointSlice object for both plans: the model reuses its service ports, and so the plan cache is asked.
    const shared = objects('zone-a').endpointSlices;
    const inA = svcChain('zone-a', shared);
    const inB = svcChain('zone-b', shared);
    expect(targets(inA)).toEqual(['10.0.0.1']);
    expect(targets(inB)).toEqual(['10.0.0.2']);
    expect(inA.comment).toBe('topology PreferSameZone: zone zone-a, 1 of 2 ready endpoints');
    expect(inB.comment).toBe('topology PreferSameZone: zone zone-b, 1 of 2 ready endpoints');
    expect(targets(svcChain('zone-c', shared))).toEqual(['10.0.0.1', '10.0.0.2']);
  });
});
