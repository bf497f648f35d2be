// Processes for the benchmark: timed runs with their peak RSS, long-lived children, and the clean-up
// of everything the benchmark started, also on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';

export interface TimedRun {
  wallMs: number;
  exitCode: number;
  stderr: string;
  /** stdout, unless it went to a file */
  stdout: string;
  /** peak resident set of the command (KiB), when asked for */
  peakRssKiB?: number;
  /** how the peak was read: GNU time's %M (the kernel's ru_maxrss), or polling /proc/PID/status VmHWM */
  rssMethod?: 'gnu-time' | 'proc-poll';
}

export interface TimedOptions {
  input?: string;
  /** write stdout here instead of collecting it */
  stdoutFile?: string;
  timeoutMs: number;
  peakRss?: boolean;
}

const cleanups = new Set<() => Promise<void> | void>();
let cleaningUp: Promise<void> | undefined;

/** Registers a clean-up that runs on exit, error or signal; returns a function that unregisters it. */
export function onCleanup(fn: () => Promise<void> | void): () => void {
  cleanups.add(fn);
  return () => { cleanups.delete(fn); };
}

/** Runs every registered clean-up once, newest first; errors are reported, not thrown. */
export function cleanUpAll(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const fn of [...cleanups].reverse()) {
      cleanups.delete(fn);
      try { await fn(); } catch (e) { process.stderr.write(`bench: clean-up failed: ${(e as Error).message}\n`); }
    }
  })();
  return cleaningUp;
}

export function installSignalHandlers(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up...\n`);
      // A second signal while cleaning up exits at once.
      process.once(sig, () => process.exit(130));
      cleanUpAll().finally(() => process.exit(130));
    });
  }
}

const children = new Set<ChildProcess>();
onCleanup(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Spawns a child the clean-up will kill if it is still running. */
export function spawnTracked(cmd: string, args: string[], stdio: ('pipe' | 'ignore' | number)[]): ChildProcess {
  const child = spawn(cmd, args, { stdio });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.on('error', () => children.delete(child));
  return child;
}

function statusKiB(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The peak resident set of a live process, from the kernel's high-water mark. */
export function vmHWMKiB(pid: number): number | undefined {
  return statusKiB(pid, 'VmHWM');
}

/** The resident set of a live process now. */
export function vmRSSKiB(pid: number): number | undefined {
  return statusKiB(pid, 'VmRSS');
}

export function gnuTimeAvailable(): boolean {
  return existsSync(GNU_TIME);
}

/**
 * Runs a command to completion and times it from spawn to exit. With peakRss, GNU time wraps it
 * (its %M is the exact peak); without GNU time, /proc/PID/status is polled every 10 ms.
 */
export function runTimed(cmd: string, args: string[], opts: TimedOptions): Promise<TimedRun> {
  const useTime = opts.peakRss && gnuTimeAvailable();
  const timeFile = useTime ? join(tmpdir(), `sluice-bench-time-${process.pid}-${Math.random().toString(16).slice(2)}`) : '';
  const [c, a] = useTime ? [GNU_TIME, ['-f', '%M', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const outFd = opts.stdoutFile ? openSync(opts.stdoutFile, 'w') : undefined;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawnTracked(c, a, ['pipe', outFd ?? 'pipe', 'pipe']);
    if (outFd !== undefined) closeSync(outFd);
    let stdout = '';
    let stderr = '';
    let polledPeak = 0;
    const poll = opts.peakRss && !useTime
      ? setInterval(() => { polledPeak = Math.max(polledPeak, vmHWMKiB(child.pid!) ?? 0); }, 10)
      : undefined;
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
    child.on('error', (err) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      reject(err);
    });
    child.on('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      const result: TimedRun = { wallMs, exitCode: code ?? (signal ? 128 : 1), stdout, stderr };
      if (useTime) {
        try {
          const text = readFileSync(timeFile, 'utf8').trim();
          // GNU time writes "Command exited with non-zero status N" before the format on failure.
          const kib = Number(text.split('\n').pop());
          if (Number.isFinite(kib)) Object.assign(result, { peakRssKiB: kib, rssMethod: 'gnu-time' });
        } catch { /* no file: the command did not run */ }
        rmSync(timeFile, { force: true });
      } else if (opts.peakRss) {
        Object.assign(result, { peakRssKiB: polledPeak || undefined, rssMethod: 'proc-poll' });
      }
      resolve(result);
    });
  });
}

/** runTimed that throws unless the command exits 0. */
export async function runTimedOk(cmd: string, args: string[], opts: TimedOptions): Promise<TimedRun> {
  const r = await runTimed(cmd, args, opts);
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim().slice(0, 2000)}`);
  return r;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
