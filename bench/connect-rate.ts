// Runs inside the lab's client namespace: opens new TCP connections as fast as it can for a fixed
// time, P at a time, and counts the ones that got the echo server's whole answer (connect, answer,
// reset): new connections per second, each one a new conntrack entry and a NAT decision on node1.
// Usage: connect-rate.ts --hosts 10.96.0.1[,ADDR...] --port 80 [--seconds 3] [--parallel 64] [--max 3000000]
// Prints one JSON line. Bounded: it stops after --seconds or --max connections, whichever is first,
// and exits on its own a few seconds later whatever its sockets do.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string' },
    port: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    parallel: { type: 'string', default: '64' },
    max: { type: 'string', default: '3000000' },
    'timeout-ms': { type: 'string', default: '2000' },
  },
});

function positive(name: string, text: string | undefined, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    process.stderr.write(`connect-rate: --${name} must be a number in (0, ${max}], not ${text}\n`);
    process.exit(2);
  }
  return n;
}

const hosts = (values.hosts ?? '').split(',').filter((h) => net.isIP(h));
if (hosts.length === 0) {
  process.stderr.write('connect-rate: --hosts needs one or more IP addresses\n');
  process.exit(2);
}
const port = positive('port', values.port, 65535);
const seconds = positive('seconds', values.seconds, 60);
const parallel = Math.floor(positive('parallel', values.parallel, 1024));
const max = Math.floor(positive('max', values.max, 1e8));
const timeoutMs = positive('timeout-ms', values['timeout-ms'], 60_000);

let completed = 0;
let failed = 0;
let timedOut = 0;
let started = 0;
const errors: Record<string, number> = {};
const start = performance.now();
const deadline = start + seconds * 1000;
let stopping = false;

// The hard stop: whatever happens to the sockets, the process ends.
setTimeout(() => finish(), seconds * 1000 + 5000).unref();

function finish(): void {
  if (stopping) return;
  stopping = true;
  const elapsedMs = Math.min(performance.now(), deadline) - start;
  process.stdout.write(JSON.stringify({ hosts, port, parallel, seconds, completed, failed, timedOut, errors, elapsedMs, perSecond: completed / (elapsedMs / 1000) }) + '\n');
  process.exit(0);
}

function next(worker: number): void {
  if (stopping) return;
  if (performance.now() >= deadline || started >= max) {
    if (--running === 0) finish();
    return;
  }
  const host = hosts[started++ % hosts.length];
  const socket = net.connect({ host, port });
  let got = 0;
  let done = false;
  const end = (outcome: 'ok' | 'failed' | 'timeout', code?: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    // A reset rather than a FIN: neither end keeps the connection in TIME_WAIT, so the pods' and the
    // client's socket tables stay small however many connections a run makes.
    socket.resetAndDestroy();
    // Only connections finished before the deadline count: the rate is per the measured seconds.
    if (performance.now() <= deadline) {
      if (outcome === 'ok') completed++;
      else if (outcome === 'timeout') timedOut++;
      else {
        failed++;
        const k = code ?? 'unknown';
        errors[k] = (errors[k] ?? 0) + 1;
      }
    }
    // A failing target must not become a busy loop.
    if (outcome === 'ok') next(worker);
    else setTimeout(() => next(worker), 10);
  };
  const timer = setTimeout(() => end('timeout'), timeoutMs);
  socket.on('data', (d: Buffer) => { got += d.length; });
  socket.on('end', () => end(got > 0 ? 'ok' : 'failed', got > 0 ? undefined : 'EMPTY'));
  socket.on('error', (err: NodeJS.ErrnoException) => end('failed', err.code));
}

let running = parallel;
for (let w = 0; w < parallel; w++) next(w);
