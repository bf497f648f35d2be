// Restart delays for a failing watch: exponential, capped, with a little jitter so a fleet of
// proxies does not hit a recovering API server in lockstep.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Each delay is stretched by up to this fraction (0.1 = up to 10% longer). */
  jitter?: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, jitter: 0.1 };

export class Backoff {
  #opts: BackoffOptions;
  #attempt = 0;

  constructor(opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.#opts = opts;
  }

  /** The delay before the next attempt; each call doubles the base up to the cap. */
  next(): number {
    const { initialMs, maxMs, jitter = 0, random = Math.random } = this.#opts;
    const base = Math.min(initialMs * 2 ** this.#attempt, maxMs);
    if (base < maxMs) this.#attempt++;
    return Math.round(base * (1 + jitter * random()));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
