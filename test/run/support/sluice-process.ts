// `sluice run` as a real process inside a network namespace (`ip netns exec NS node cmd/sluice.ts run
// ...`), its JSON log lines parsed as they arrive. Every process started here is killed by
// killAllSluices(), which test files call in afterAll (and afterEach where a test may leave one).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodeBinary } from '../../../lab/scripts.ts';

export const SLUICE = fileURLToPath(new URL('../../../cmd/sluice.ts', import.meta.url));

export interface LogLine {
  level: string;
  msg: string;
  /** When the line reached the test (Date.now()). */
  seenAt: number;
  [field: string]: unknown;
}

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

export interface SluiceOptions {
  ns: string;
  /** Arguments after `run`. */
  args: string[];
  /** Folders put first on sluice's PATH (e.g. one holding a wrapper `nft`). */
  pathFirst?: string[];
}

const running = new Set<SluiceProcess>();

export class SluiceProcess {
  readonly logs: LogLine[] = [];
  /** stderr lines that are not JSON (stack traces). */
  readonly otherOutput: string[] = [];
  readonly exited: Promise<Exit>;
  readonly startedAt = Date.now();
  #child: ChildProcess;
  #exit: Exit | undefined;
  #waiters = new Set<() => void>();

  constructor(o: SluiceOptions) {
    const env = { ...process.env };
    if (o.pathFirst?.length) env.PATH = [...o.pathFirst, env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'].join(':');
    // `ip netns exec` execs node in place, so the child's pid is sluice's.
    this.#child = spawn('ip', ['netns', 'exec', o.ns, nodeBinary(), SLUICE, 'run', ...o.args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(this);
    let buffered = '';
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        try {
          this.logs.push({ ...JSON.parse(line), seenAt: Date.now() });
        } catch {
          this.otherOutput.push(line);
        }
      }
      for (const w of this.#waiters) w();
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        running.delete(this);
        for (const w of this.#waiters) w();
        resolve(this.#exit);
      });
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** Log lines with this message (and these fields), in order. */
  lines(msg: string, fields: Record<string, unknown> = {}): LogLine[] {
    return this.logs.filter((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));
  }

  /** The first log line from index `after` on that satisfies `match`; throws after timeoutMs or if sluice exits. */
  async waitFor(match: (l: LogLine) => boolean, { after = 0, timeoutMs = 10_000, what = 'a log line' } = {}): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.slice(after).find(match);
      if (found) return found;
      if (!this.alive) throw new Error(`sluice exited (${JSON.stringify(this.#exit)}) before ${what}:\n${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} from sluice after ${timeoutMs} ms:\n${this.describe()}`);
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); this.#waiters.delete(done); resolve(); };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  /** The next successful sync (full or partial) logged from index `after` on. */
  nextSync(after: number, kind?: 'full' | 'partial', timeoutMs = 10_000): Promise<LogLine> {
    return this.waitFor((l) => (l.msg === 'full sync' || l.msg === 'partial sync') && (kind === undefined || l.kind === kind),
      { after, timeoutMs, what: `a ${kind ?? ''} sync` });
  }

  /** The index of a line in logs, to wait for what comes after it. */
  indexOf(line: LogLine): number {
    return this.logs.indexOf(line);
  }

  /** Resolves once sluice has logged nothing for quietMs: the syncs a test set off are over. */
  async quiet(quietMs = 500, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.logs.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      if (this.logs.length === seen || !this.alive) return;
      if (Date.now() > deadline) throw new Error(`sluice kept logging for ${timeoutMs} ms:\n${this.describe()}`);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.#child.kill(sig);
  }

  /** Sends sig and waits for the exit (SIGKILL after timeoutMs). */
  async stop(sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<Exit> {
    this.signal(sig);
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  describe(): string {
    return [...this.logs.slice(-30).map((l) => JSON.stringify(l)), ...this.otherOutput.slice(-30)].join('\n');
  }
}

export function startSluice(o: SluiceOptions): SluiceProcess {
  return new SluiceProcess(o);
}

export async function killAllSluices(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL')));
}
