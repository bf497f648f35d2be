import { collectIfGrown } from '../../lib/sync/heap.ts';

test('a collection is asked for at first, then only once the heap has grown past the last one by 32 MiB', () => {
  let calls = 0;
  const gc = () => { calls++; };
  expect(collectIfGrown(gc)).toBe(true);
  expect(collectIfGrown(gc)).toBe(false);
  const ballast = Array.from({ length: 6 }, () => new Array(1 << 20).fill(0.5)); // 48 MiB more on the JS heap
  expect(collectIfGrown(gc)).toBe(true);
  expect(calls).toBe(2);
  expect(ballast.length).toBe(6);
});

test('without --expose-gc it does nothing', () => {
  expect(collectIfGrown(undefined)).toBe(false);
});
