// Runs inside the lab's client namespace: opens new TCP connections as fast as it can, P at a time,
// and counts the ones that got the echo server's whole answer (connect, answer, reset): new
// connections per second, each one a new conntrack entry and a NAT decision on node1.
//
// Several targets are measured in the same run, in turns of --slice-ms: every connection goes to the
// target whose turn it is when it starts and counts for that target. A burst of load from elsewhere
// on the machine then hits every target alike, which back-to-back runs of a few seconds do not.
//
// Usage: connect-rate.ts --target NAME=ADDR[,ADDR...]:PORT [--target ...] [--seconds 4] [--slice-ms 250]
//                        [--parallel 64] [--max 3000000]
// --seconds is per target. Prints one JSON line. Bounded: it stops after its time or --max
// connections, whichever is first, and exits on its own a few seconds later whatever its sockets do.
import net from 'node:net';
import { parseArgs } from 'node:util';

export interface TargetCount {
  hosts: string[];
  port: number;
  completed: number;
  failed: number;
  timedOut: number;
  errors: Record<string, number>;
  /** the time this target had its turns */
  activeMs: number;
  perSecond: number;
}

export interface RateReport {
  parallel: number;
  sliceMs: number;
  elapsedMs: number;
  targets: Record<string, TargetCount>;
}

/** NAME=ADDR[,ADDR...]:PORT */
export function parseTarget(text: string): { name: string; hosts: string[]; port: number } | undefined {
  const m = /^([a-z][a-z0-9-]*)=([0-9a-f.:,]+):([0-9]+)$/i.exec(text);
  if (!m) return undefined;
  const hosts = m[2].split(',');
  const port = Number(m[3]);
  if (hosts.some((h) => !net.isIPv4(h)) || port < 1 || port > 65535) return undefined;
  return { name: m[1], hosts, port };
}

function fail(message: string): never {
  process.stderr.write(`connect-rate: ${message}\n`);
  process.exit(2);
}

function positive(name: string, text: string | undefined, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) fail(`--${name} must be a number in (0, ${max}], not ${text}`);
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      seconds: { type: 'string', default: '4' },
      'slice-ms': { type: 'string', default: '250' },
      parallel: { type: 'string', default: '64' },
      max: { type: 'string', default: '3000000' },
      'timeout-ms': { type: 'string', default: '2000' },
    },
  });
  const targets = (values.target ?? []).map((t) => parseTarget(t) ?? fail(`--target ${t}: want NAME=ADDR[,ADDR...]:PORT`));
  if (targets.length === 0) fail('at least one --target NAME=ADDR[,ADDR...]:PORT');
  if (new Set(targets.map((t) => t.name)).size !== targets.length) fail('target names must differ');
  const seconds = positive('seconds', values.seconds, 60);
  const sliceMs = positive('slice-ms', values['slice-ms'], 60_000);
  const parallel = Math.floor(positive('parallel', values.parallel, 1024));
  const max = Math.floor(positive('max', values.max, 1e8));
  const timeoutMs = positive('timeout-ms', values['timeout-ms'], 60_000);

  const counts: Record<string, TargetCount> = Object.fromEntries(targets.map((t) => [t.name, {
    hosts: t.hosts, port: t.port, completed: 0, failed: 0, timedOut: 0, errors: {}, activeMs: 0, perSecond: 0,
  }]));
  // Whole rounds of turns, so every target gets the same time.
  const slices = Math.max(1, Math.round((seconds * 1000) / sliceMs)) * targets.length;
  const start = performance.now();
  const deadline = start + slices * sliceMs;
  let started = 0;
  let stopping = false;
  let running = parallel;

  const turn = (at: number) => targets[Math.floor((at - start) / sliceMs) % targets.length];

  function finish(): void {
    if (stopping) return;
    stopping = true;
    const elapsedMs = Math.min(performance.now(), deadline) - start;
    for (const t of Object.values(counts)) {
      t.activeMs = elapsedMs / targets.length;
      t.perSecond = t.completed / (t.activeMs / 1000);
    }
    const report: RateReport = { parallel, sliceMs, elapsedMs, targets: counts };
    process.stdout.write(JSON.stringify(report) + '\n');
    process.exit(0);
  }

  // The hard stop: whatever happens to the sockets, the process ends.
  setTimeout(() => finish(), slices * sliceMs + 5000).unref();

  function next(): void {
    if (stopping) return;
    const now = performance.now();
    if (now >= deadline || started >= max) {
      if (--running === 0) finish();
      return;
    }
    const target = turn(now);
    const count = counts[target.name];
    const host = target.hosts[started++ % target.hosts.length];
    const socket = net.connect({ host, port: target.port });
    let got = 0;
    let done = false;
    const end = (outcome: 'ok' | 'failed' | 'timeout', code?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A reset rather than a FIN: neither end keeps the connection in TIME_WAIT, so the pods' and the
      // client's socket tables stay small however many connections a run makes.
      socket.resetAndDestroy();
      // Only connections finished in time count: the rate is per the measured seconds.
      if (performance.now() <= deadline) {
        if (outcome === 'ok') count.completed++;
        else if (outcome === 'timeout') count.timedOut++;
        else {
          count.failed++;
          const k = code ?? 'unknown';
          count.errors[k] = (count.errors[k] ?? 0) + 1;
        }
      }
      // A failing target must not become a busy loop.
      if (outcome === 'ok') next();
      else setTimeout(next, 10);
    };
    const timer = setTimeout(() => end('timeout'), timeoutMs);
    socket.on('data', (d: Buffer) => { got += d.length; });
    socket.on('end', () => end(got > 0 ? 'ok' : 'failed', got > 0 ? undefined : 'EMPTY'));
    socket.on('error', (err: NodeJS.ErrnoException) => end('failed', err.code));
  }

  for (let w = 0; w < parallel; w++) next();
}

if (import.meta.url === `file://${process.argv[1]}`) main();
