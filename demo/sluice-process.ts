// `sluice run` as the demo starts it: inside a lab namespace, with its JSON log read line by line
// so the demo can wait for a sync and show the transaction it sent.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inNamespace, nodeBinary } from '../lab/scripts.ts';

export const SLUICE_CMD = fileURLToPath(new URL('../cmd/sluice.ts', import.meta.url));

/** One line of sluice's stderr: its JSON fields, or just the text when it is not JSON. */
export interface LogLine {
  text: string;
  level?: string;
  msg?: string;
  fields: Record<string, unknown>;
}

function parseLine(text: string): LogLine {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (o && typeof o === 'object' && !Array.isArray(o)) {
      return { text, level: typeof o.level === 'string' ? o.level : undefined, msg: typeof o.msg === 'string' ? o.msg : undefined, fields: o };
    }
  } catch { /* not JSON: a Node warning or a crash */ }
  return { text, fields: {} };
}

export class SluiceProcess {
  readonly lines: LogLine[] = [];
  /** The command as a person would type it (node's path shortened). */
  readonly display: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #exit: string | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(ns: string, args: string[]) {
    const [cmd, cmdArgs] = inNamespace(ns, nodeBinary(), [SLUICE_CMD, ...args]);
    this.display = ['ip', 'netns', 'exec', ns, 'node', 'cmd/sluice.ts', ...args].join(' ');
    // Its own process group: Ctrl-C reaches the demo, which stops sluice in order.
    this.#child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    createInterface({ input: this.#child.stderr! }).on('line', (text) => {
      this.lines.push(parseLine(text));
      this.#notify();
    });
    this.#exited = new Promise((resolve) => {
      this.#child.on('error', (e) => { this.#exit = e.message; this.#notify(); resolve(); });
      this.#child.on('exit', (code, signal) => { this.#exit = `exited (${signal ?? code})`; this.#notify(); resolve(); });
    });
  }

  #notify() {
    for (const l of [...this.#listeners]) l();
  }

  /** The first line at or after index `from` that matches; rejects if sluice exits or after timeoutMs. */
  waitFor(what: string, match: (l: LogLine) => boolean, from: number, timeoutMs: number): Promise<{ line: LogLine; index: number }> {
    return new Promise((resolve, reject) => {
      let next = from;
      const check = () => {
        for (; next < this.lines.length; next++) {
          if (match(this.lines[next])) return finish(() => resolve({ line: this.lines[next], index: next }));
        }
        if (this.#exit !== undefined) finish(() => reject(new Error(`sluice ${this.#exit} before ${what}:\n${this.tail()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} from sluice after ${timeoutMs} ms:\n${this.tail()}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        then();
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** The last lines of its log, for error messages. */
  tail(n = 15): string {
    return this.lines.slice(-n).map((l) => `  ${l.text.slice(0, 500)}`).join('\n') || '  (no output)';
  }

  /** SIGTERM (sluice stops, leaving its rules), SIGKILL if it has not exited after 3 s. */
  async stop(): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await this.#exited;
    clearTimeout(timer);
  }
}
