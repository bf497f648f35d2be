// What lib/objects keeps of an object must be everything lib/model reads of it. Objects with every
// field set (fixtures.ts) are read by buildModel through a proxy that records each field read; every
// field read that the object has must be in the slimmed object, with the same value. And the model
// of the slimmed objects is the model of the objects as they came.
import { describe, expect, test } from '@jest/globals';
import { buildModel } from '../../lib/model/build.ts';
import { slimObject, type KubeObject, type ObjectKind } from '../../lib/objects/objects.ts';
import type { ObjectSet } from '../../lib/objects/store.ts';
import { fullEndpoints, fullLegacyService, fullNode, fullService, fullServiceCIDR, fullSlice } from './fixtures.ts';

type Path = (string | number)[];

/** The object, wrapped so that every own field read (at any depth) is recorded with its path. */
function traced<T extends object>(obj: T, reads: Path[], path: Path = []): T {
  return new Proxy(obj, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || !Object.hasOwn(target, key)) return value;
      const at = [...path, Array.isArray(target) && /^\d+$/.test(key) ? Number(key) : key];
      reads.push(at);
      return typeof value === 'object' && value !== null ? traced(value, reads, at) : value;
    },
  });
}

const at = (v: any, path: Path) => path.reduce((x, k) => (x === null || x === undefined ? undefined : x[k]), v);

const fixtures = (lb?: string) => ({
  services: [fullService(lb), fullLegacyService()], endpointSlices: [fullSlice()], endpoints: [fullEndpoints()],
  nodes: [fullNode()], serviceCIDRs: [fullServiceCIDR()],
});

function slimmed(set: ReturnType<typeof fixtures>): ObjectSet {
  const slim = (list: any[]) => list.map((o) => slimObject(o.kind as ObjectKind, o));
  return { services: slim(set.services), endpointSlices: slim(set.endpointSlices), endpoints: slim(set.endpoints), nodes: slim(set.nodes), serviceCIDRs: slim(set.serviceCIDRs) };
}

describe('slimObject keeps every field lib/model reads', () => {
  for (const lb of [undefined, 'maglev']) {
    test(`every field read is kept with its value${lb ? ` (a Service with ${lb})` : ''}`, () => {
      const raw = fixtures(lb);
      const reads = new Map<object, Path[]>();
      const trace = (list: any[]) => list.map((o) => { const r: Path[] = []; reads.set(o, r); return traced(o, r) as KubeObject; });
      buildModel({ services: trace(raw.services), endpointSlices: trace(raw.endpointSlices), endpoints: trace(raw.endpoints), nodes: trace(raw.nodes), serviceCIDRs: trace(raw.serviceCIDRs) }, 'node1');
      const lost: string[] = [];
      for (const [obj, paths] of reads) {
        const slim = slimObject((obj as any).kind, obj);
        for (const p of paths) {
          const v = at(obj, p);
          if (v === undefined || typeof v === 'object') continue; // containers: their leaves are checked
          if (at(slim, p) !== v) lost.push(`${(obj as any).kind} ${p.join('.')}`);
        }
      }
      expect(lost).toEqual([]);
      // The fixtures exercise the model: these are read, so the check above looked at them.
      const all = [...reads.values()].flat().map((p) => p.filter((k) => typeof k === 'string').join('.'));
      for (const field of ['spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'endpoints.hints.forZones.name', 'endpoints.conditions.terminating', 'status.loadBalancer.ingress.ip', 'spec.healthCheckNodePort']) {
        expect(all).toContain(field);
      }
    });
  }

  test('the model of the slimmed objects is the model of the objects as they came', () => {
    expect(buildModel(slimmed(fixtures()), 'node1')).toEqual(buildModel(fixtures() as unknown as ObjectSet, 'node1'));
    expect(buildModel(slimmed(fixtures('maglev')), 'node1')).toEqual(buildModel(fixtures('maglev') as unknown as ObjectSet, 'node1'));
  });

  test('what is dropped: managedFields, other annotations, the selector, endpoints\' targetRef and the like', () => {
    const svc = slimObject('Service', fullService());
    expect(Object.keys(svc.metadata).sort()).toEqual(['creationTimestamp', 'deletionTimestamp', 'labels', 'name', 'namespace', 'resourceVersion']);
    expect(svc.spec.selector).toBeUndefined();
    expect(svc.spec.ipFamilies).toBeUndefined();
    const slice = slimObject('EndpointSlice', fullSlice());
    expect((slice.endpoints as any[])[0]).toEqual({
      addresses: ['10.128.0.1', '10.128.0.100'], conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node1', hints: { forZones: [{ name: 'a' }], forNodes: [{ name: 'node1' }] },
    });
    expect(slice.metadata.annotations).toEqual({ 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:01Z' });
  });

  test('a malformed spec or endpoint is kept as it came, for the model to report', () => {
    expect(slimObject('Service', { metadata: { name: 'x' }, spec: 'nonsense' }).spec).toBe('nonsense');
    expect(slimObject('EndpointSlice', { metadata: { name: 'x' }, endpoints: [7, null, ['a']] }).endpoints).toEqual([7, null, ['a']]);
    expect(slimObject('EndpointSlice', { metadata: { name: 'x' }, endpoints: 'nope' }).endpoints).toBe('nope');
  });
});
