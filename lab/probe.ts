// Runs in any namespace of a lab: `probe.ts --proto tcp --host 10.96.0.1 --port 80 --count 5
// --timeout-ms 1000 [--source ADDR]`. Makes the attempts one after another and prints one JSON
// ProbeResult.
import { parseArgs } from 'node:util';
import { attempt } from './probe-attempt.ts';
import { tally } from './probe-result.ts';
import type { Outcome } from './probe-result.ts';

function fail(message: string): never {
  process.stderr.write(`probe: ${message}\nusage: probe.ts --proto tcp|udp --host ADDR --port N [--count N] [--timeout-ms MS] [--source ADDR]\n`);
  process.exit(2);
}

function positive(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`--${name} must be an integer from 1 to ${max}, not ${text}`);
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      proto: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      count: { type: 'string', default: '1' },
      'timeout-ms': { type: 'string', default: '1000' },
      source: { type: 'string' },
    },
  }));
} catch (err) {
  fail((err as Error).message);
}
const proto = values.proto;
if (proto !== 'tcp' && proto !== 'udp') fail('--proto must be tcp or udp');
if (!values.host) fail('--host is required');
const port = positive('port', values.port ?? '', 65535);
const count = positive('count', values.count, 100000);
const timeoutMs = positive('timeout-ms', values['timeout-ms'], 600000);

const outcomes: Outcome[] = [];
for (let i = 0; i < count; i++) {
  outcomes.push(await attempt({ proto, host: values.host, port, timeoutMs, source: values.source }));
}
process.stdout.write(JSON.stringify(tally(outcomes)) + '\n');
