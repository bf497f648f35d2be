// An invalid endpoint is left out alone with a warning naming it; the rest of its EndpointSlice (or
// legacy Endpoints) stays. Invalid fields of the object itself still invalidate the whole object.
import { describe, expect, test } from '@jest/globals';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { buildModel } from '../../lib/model/build.ts';
import { readEndpointSlice, readEndpoints } from '../../lib/model/endpoint-slices.ts';
import { InvalidObject } from '../../lib/model/problems.ts';

function slice(endpoints: unknown[], extra: Partial<KubeObject> = {}): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints, ...extra,
  };
}

const service: KubeObject = {
  kind: 'Service', metadata: { name: 'web', namespace: 'shop' },
  spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
};

const good = (ip: string) => ({ addresses: [ip], nodeName: 'node1', conditions: { ready: true } });

describe('readEndpointSlice', () => {
  test.each([
    ['an address that is not an IP', { addresses: ['10.0.0.999'] }, 'invalid-endpoint-address', 'endpoints[1].addresses[0] "10.0.0.999" is not an IPv4 address'],
    ['an address of the other family', { addresses: ['fd00::1'] }, 'invalid-endpoint-address', 'endpoints[1].addresses[0] "fd00::1" is not an IPv4 address'],
    ['no address', { addresses: [] }, 'invalid-endpoint-address', 'endpoints[1].addresses is empty'],
    ['a bad node name', { addresses: ['10.0.0.2'], nodeName: 'Node 1; drop' }, 'invalid-node-name', 'endpoints[1].nodeName "Node 1; drop" is not a valid node name'],
    ['a condition that is not a boolean', { addresses: ['10.0.0.2'], conditions: { serving: 'true' } }, 'invalid-condition', 'endpoints[1].conditions.serving "true" is not true or false'],
    ['conditions that are not an object', { addresses: ['10.0.0.2'], conditions: 'ready' }, 'invalid-condition', 'endpoints[1].conditions is not an object'],
    ['an endpoint that is not an object', 'ten', 'invalid-endpoints', 'endpoints[1] is not an object'],
  ])('%s: skips that endpoint, keeps the others', (_what, bad, reason, message) => {
    const r = readEndpointSlice(slice([good('10.0.0.1'), bad, good('10.0.0.3')]));
    expect(r.groups).toHaveLength(1);
    expect(r.groups[0].endpoints.map((e) => e.address)).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(r.skipped).toEqual([{ reason, message }]);
  });

  test('a slice whose every endpoint is bad is a group without endpoints, one skip per endpoint', () => {
    const r = readEndpointSlice(slice([{ addresses: ['x'] }, { addresses: ['y'] }]));
    expect(r.groups.map((g) => g.endpoints)).toEqual([[]]);
    expect(r.skipped.map((s) => s.message.split(' ')[0])).toEqual(['endpoints[0].addresses[0]', 'endpoints[1].addresses[0]']);
  });

  test.each([
    ['its ports', { ports: [{ port: 0 }] }, 'invalid-port'],
    ['its address type', { addressType: 'IPv5' }, 'invalid-address-type'],
    ['its endpoints list', { endpoints: 'all of them' }, 'invalid-endpoints'],
    ['its name', { metadata: { name: 'Web_1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } } }, 'invalid-name'],
    ['its service label', { metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'Web' } } }, 'invalid-service-label'],
  ])('an invalid slice field (%s) still invalidates the whole slice', (_what, extra, reason) => {
    let thrown: unknown;
    try {
      readEndpointSlice(slice([good('10.0.0.1')], extra as Partial<KubeObject>));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InvalidObject);
    expect((thrown as InvalidObject).reason).toBe(reason);
  });
});

describe('readEndpoints (legacy)', () => {
  const endpoints = (subsets: unknown): KubeObject => ({ kind: 'Endpoints', metadata: { name: 'web', namespace: 'shop' }, subsets });

  test('a bad address or node name skips that address; ready and not-ready neighbours stay', () => {
    const r = readEndpoints(endpoints([{
      addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.300' }, { ip: 'fd00::2' }],
      notReadyAddresses: [{ ip: '10.0.0.4', nodeName: '-x-' }, { ip: '10.0.0.5' }],
      ports: [{ name: 'http', port: 8080 }],
    }]));
    expect(r.groups.map((g) => [g.family, g.endpoints.map((e) => `${e.address} ${e.ready}`)])).toEqual([
      [4, ['10.0.0.1 true', '10.0.0.5 false']],
      [6, ['fd00::2 true']],
    ]);
    expect(r.skipped).toEqual([
      { reason: 'invalid-endpoint-address', message: 'subsets[0].addresses[1].ip "10.0.0.300" is not an IP address' },
      { reason: 'invalid-node-name', message: 'subsets[0].notReadyAddresses[0].nodeName "-x-" is not a valid node name' },
    ]);
  });

  test('invalid subset ports still invalidate the whole object', () => {
    expect(() => readEndpoints(endpoints([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 'http' }] }]))).toThrow(InvalidObject);
  });
});

describe('buildModel with a bad endpoint', () => {
  test('programs the slice\'s good endpoints and reports the bad one as a Problem of the slice', () => {
    const model = buildModel({
      services: [service], endpointSlices: [slice([good('10.0.0.1'), { addresses: ['10.0.0.2'], nodeName: 'UPPER' }])], endpoints: [], nodes: [],
    }, 'node1');
    expect(model.servicePorts.map((sp) => sp.endpoints.map((e) => `${e.address}:${e.port}`))).toEqual([['10.0.0.1:8080']]);
    expect(model.problems).toEqual([{
      kind: 'EndpointSlice', object: 'shop/web-1', reason: 'invalid-node-name',
      message: 'endpoints[1].nodeName "UPPER" is not a valid node name', scope: 'endpoint',
    }]);
  });

  test('reports the skipped endpoint at every build, also when the reading is cached', () => {
    const objects = { services: [service], endpointSlices: [slice([{ addresses: ['nope'] }])], endpoints: [], nodes: [] };
    expect(buildModel(objects, 'node1').problems).toHaveLength(1);
    expect(buildModel(objects, 'node1').problems).toHaveLength(1);
  });
});
