// A Clock (lib/clock.ts) that only moves when told to: timers fire in order of their due time,
// and the promises they start are allowed to settle before the next one fires.
import type { Clock } from '../../lib/clock.ts';

interface Timer { at: number; seq: number; fn: () => void }

/** Lets every pending promise callback run (a fake NftRunner settles in microtasks). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), seq: id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Due times of the timers still pending, relative to now. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.t).sort((a, b) => a - b);
  }

  /** Moves time forward by ms, firing each timer that comes due (and what it schedules) on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = [...this.timers.entries()].filter(([, t]) => t.at <= end)
        .sort(([, a], [, b]) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      const [id, timer] = next;
      this.timers.delete(id);
      this.t = timer.at;
      timer.fn();
    }
    this.t = end;
    await settle();
  }
}
