// Each sync rebuilds the model and the plan of every service (cached parts are reused, but the lists
// and maps that hold them are new). That garbage lives as long as the sync, long enough for V8 to move
// it to the old generation, where it stays until a major collection V8 is in no hurry to run: at
// 10,000 services the resident set grew from ~250 to ~650 MiB over a few dozen endpoint changes.
// So after a sync, once the heap has grown well past what the last collection left, sluice asks for
// one (node runs sluice with --expose-gc: cmd/sluice.ts's #! line, deploy/Dockerfile).

const MIN_GROWTH = 16 * 2 ** 20;

let afterLastCollection = 0;

/** Collects garbage if the heap grew by a quarter, or 16 MiB, over what the last collection left. */
export function collectIfGrown(
  gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc,
  heapUsed: () => number = () => process.memoryUsage().heapUsed,
): boolean {
  if (!gc) return false;
  const used = heapUsed();
  if (afterLastCollection > 0 && used < afterLastCollection + Math.max(MIN_GROWTH, afterLastCollection / 4)) return false;
  gc();
  afterLastCollection = heapUsed();
  return true;
}
