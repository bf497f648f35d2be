import { describe, expect, it } from '@jest/globals';
import { Backoff, DEFAULT_BACKOFF } from '../../lib/k8s/backoff.ts';

describe('Backoff', () => {
  it('starts at 0.5 s and doubles up to 30 s by default', () => {
    const b = new Backoff({ ...DEFAULT_BACKOFF, jitter: 0 });
    expect(Array.from({ length: 9 }, () => b.next())).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
  it('starts over after reset()', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
  });
  it('stretches each delay by up to the jitter fraction, never shortens it', () => {
    expect(new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0.1, random: () => 0.999 }).next()).toBe(1100);
    expect(new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0.1, random: () => 0 }).next()).toBe(1000);
  });
});
