// A prober (prober.ts) running in a lab namespace, its attempts collected as they end.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { scriptInNamespace } from '../../../lab/scripts.ts';

const PROBER = fileURLToPath(new URL('./prober.ts', import.meta.url));

export interface Attempt {
  start: number;
  end: number;
  kind: 'answer' | 'refused' | 'timedOut' | 'unreachable' | 'error';
  backend?: string;
  message?: string;
}

export interface ProberOptions {
  proto?: 'tcp' | 'udp';
  host: string;
  port: number;
  intervalMs?: number;
  timeoutMs?: number;
  /** The prober stops by itself after this long, whatever happens to the test (default 20 s). */
  maxMs?: number;
}

const running = new Set<ChildProcess>();

export class Prober {
  readonly attempts: Attempt[] = [];
  #child: ChildProcess;
  #done: Promise<void>;
  #stderr = '';

  constructor(ns: string, o: ProberOptions) {
    const [cmd, args] = scriptInNamespace(ns, PROBER, [
      '--proto', o.proto ?? 'tcp', '--host', o.host, '--port', String(o.port),
      '--interval-ms', String(o.intervalMs ?? 5), '--timeout-ms', String(o.timeoutMs ?? 1000), '--max-ms', String(o.maxMs ?? 20_000),
    ]);
    this.#child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(this.#child);
    let buffered = '';
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
        if (!line.done) this.attempts.push(line as Attempt);
      }
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.#stderr += d; });
    this.#done = new Promise((resolve) => this.#child.on('exit', () => { running.delete(this.#child); resolve(); }));
  }

  /** Resolves once n more attempts have ended (throws if the prober stops first or after timeoutMs). */
  async more(n: number, timeoutMs = 10_000): Promise<void> {
    const target = this.attempts.length + n;
    const deadline = Date.now() + timeoutMs;
    while (this.attempts.length < target) {
      if (running.has(this.#child) === false) throw new Error(`prober ended early: ${this.#stderr}`);
      if (Date.now() > deadline) throw new Error(`prober: fewer than ${n} attempts in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Waits until an attempt matches (throws after timeoutMs). */
  async until(match: (a: Attempt) => boolean, timeoutMs = 10_000): Promise<Attempt> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.attempts.find(match);
      if (found) return found;
      if (!running.has(this.#child)) throw new Error(`prober ended before a matching attempt: ${this.#stderr}`);
      if (Date.now() > deadline) throw new Error(`prober: no matching attempt in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stops after the attempt under way and returns every attempt. */
  async stop(): Promise<Attempt[]> {
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#done;
    clearTimeout(timer);
    return this.attempts;
  }
}

export function startProber(ns: string, o: ProberOptions): Prober {
  return new Prober(ns, o);
}

export function killAllProbers(): void {
  for (const c of running) c.kill('SIGKILL');
}

/** Attempts that did not get an answer, for failure messages. */
export function failures(attempts: Attempt[]): Attempt[] {
  return attempts.filter((a) => a.kind !== 'answer');
}

export function backends(attempts: Attempt[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of attempts) if (a.backend) out[a.backend] = (out[a.backend] ?? 0) + 1;
  return out;
}
