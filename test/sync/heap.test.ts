import { collectIfGrown } from '../../lib/sync/heap.ts';

const MiB = 2 ** 20;

test('a collection is asked for at first, then only once the heap has grown past the last one by a quarter, 16 MiB at least', () => {
  let heap = 40 * MiB;
  let calls = 0;
  const gc = () => { calls++; heap -= 10 * MiB; }; // a collection frees what it can
  const used = () => heap;
  expect(collectIfGrown(gc, used)).toBe(true); // left 30 MiB
  heap += 15 * MiB;
  expect(collectIfGrown(gc, used)).toBe(false); // 45 MiB: not 16 MiB past 30 yet
  heap += 2 * MiB;
  expect(collectIfGrown(gc, used)).toBe(true); // 47 MiB: it is; left 37 MiB
  heap = 200 * MiB;
  expect(collectIfGrown(gc, used)).toBe(true); // left 190 MiB
  heap += 40 * MiB;
  expect(collectIfGrown(gc, used)).toBe(false); // 230 MiB: a quarter of 190 is 47.5
  heap += 8 * MiB;
  expect(collectIfGrown(gc, used)).toBe(true);
  expect(calls).toBe(4);
});

test('without --expose-gc it does nothing', () => {
  expect(collectIfGrown(undefined)).toBe(false);
});
