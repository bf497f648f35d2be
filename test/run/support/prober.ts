// Runs in a lab namespace: makes new connections to one address, one after another, and prints one
// JSON line per attempt as it ends: {"start":ms,"end":ms,"kind":"answer","backend":"pa1"} (kind as in
// lab/probe-result.ts). Stops when its stdin closes, on SIGTERM, or after --max-ms, whichever
// comes first, and then prints {"done":true}.
//   prober.ts --proto tcp --host 10.96.0.10 --port 80 [--interval-ms 5] [--timeout-ms 1000] [--max-ms 20000] [--source-port N]
import { parseArgs } from 'node:util';
import { attempt } from '../../../lab/probe-attempt.ts';

const { values } = parseArgs({
  options: {
    proto: { type: 'string', default: 'tcp' },
    host: { type: 'string' },
    port: { type: 'string' },
    'interval-ms': { type: 'string', default: '5' },
    'timeout-ms': { type: 'string', default: '1000' },
    'max-ms': { type: 'string', default: '20000' },
  },
});
const proto = values.proto;
if ((proto !== 'tcp' && proto !== 'udp') || !values.host || !values.port) {
  process.stderr.write('usage: prober.ts --proto tcp|udp --host ADDR --port N [--interval-ms N] [--timeout-ms N] [--max-ms N]\n');
  process.exit(2);
}
const port = Number(values.port);
const intervalMs = Number(values['interval-ms']);
const timeoutMs = Number(values['timeout-ms']);
const until = Date.now() + Number(values['max-ms']);

let stopping = false;
process.stdin.on('end', () => { stopping = true; }).resume();
process.on('SIGTERM', () => { stopping = true; });

while (!stopping && Date.now() < until) {
  const start = Date.now();
  const o = await attempt({ proto, host: values.host, port, timeoutMs });
  const line: Record<string, unknown> = { start, end: Date.now(), kind: o.kind };
  if (o.kind === 'answer') line.backend = o.answer.backend;
  if (o.kind === 'error') line.message = o.message;
  process.stdout.write(JSON.stringify(line) + '\n');
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
process.stdout.write(JSON.stringify({ done: true }) + '\n');
process.exit(0);
