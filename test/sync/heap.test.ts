import { collectIfGrown } from '../../lib/sync/heap.ts';

test('a collection is asked for at first, then only once the heap has grown past the last one by a quarter (16 MiB at least)', () => {
  let calls = 0;
  const gc = () => { calls++; };
  expect(collectIfGrown(gc)).toBe(true);
  expect(collectIfGrown(gc)).toBe(false);
  // What the heap holds now (the whole test run's, in a full jest run) sets the growth that counts.
  const base = process.memoryUsage().heapUsed;
  const mib = Math.ceil((Math.max(16 * 2 ** 20, base / 4) + 16 * 2 ** 20) / 2 ** 20);
  const ballast = Array.from({ length: mib }, () => new Array(1 << 17).fill(0.5)); // 1 MiB each on the JS heap
  expect(collectIfGrown(gc)).toBe(true);
  expect(calls).toBe(2);
  expect(ballast.length).toBe(mib);
});

test('without --expose-gc it does nothing', () => {
  expect(collectIfGrown(undefined)).toBe(false);
});
