// LayeredMap against a plain Map given the same changes, past the size where its layer is folded into its base.
import { expect, test } from '@jest/globals';
import fc from 'fast-check';
import { LayeredMap } from '../../lib/plan/layered-map.ts';

test('a LayeredMap reads as a Map given the same changes, and the map it came from stays as it was', () => {
  const change = fc.tuple(fc.nat(400), fc.option(fc.nat(1000), { nil: undefined }));
  fc.assert(fc.property(fc.array(fc.array(change, { maxLength: 60 }), { maxLength: 40 }), (batches) => {
    const start = new Map(Array.from({ length: 300 }, (_, i) => [i, -i]));
    let layered = LayeredMap.of(start);
    const mirror = new Map(start);
    for (const batch of batches) {
      const before = [...layered];
      const next = layered.with(batch);
      for (const [k, v] of batch) if (v === undefined) mirror.delete(k); else mirror.set(k, v);
      expect([...layered]).toEqual(before);
      expect(new Map(next)).toEqual(mirror);
      expect(next.size).toBe(mirror.size);
      for (const k of [0, 150, 299, 350, 399]) {
        expect(next.get(k)).toBe(mirror.get(k));
        expect(next.has(k)).toBe(mirror.has(k));
      }
      layered = next;
    }
  }), { numRuns: 200, seed: 20261201 });
});
