// Runs in the lab's client namespace: `prober.ts --proto udp|tcp --host ADDR --port N --sports 40000-40299
// [--source ADDR]`. One new flow per source port, each bound to that port (lab/probe.ts binds only an
// address), so that the same flows can be sent again through another node or after a change.
// Prints one JSON object: source port -> the backend that answered, or null.
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { parseAnswer } from '../../../lab/answer.ts';

const { values } = parseArgs({ options: { proto: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, sports: { type: 'string' }, source: { type: 'string' } } });
const m = /^([0-9]+)-([0-9]+)$/.exec(values.sports ?? '');
const port = Number(values.port);
if ((values.proto !== 'udp' && values.proto !== 'tcp') || !net.isIP(values.host ?? '') || !Number.isInteger(port) || !m || Number(m[1]) < 1024 || Number(m[2]) > 65535 || Number(m[1]) > Number(m[2])) {
  process.stderr.write('usage: prober.ts --proto udp|tcp --host ADDR --port N --sports LOW-HIGH [--source ADDR]\n');
  process.exit(2);
}
const host = values.host!;
const TIMEOUT_MS = 1500;

function udp(sport: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: true });
    const done = (v: string | null) => { clearTimeout(t); try { s.close(); } catch { /* closed */ } resolve(v); };
    const t = setTimeout(() => done(null), TIMEOUT_MS);
    s.on('error', () => done(null));
    s.on('message', (msg) => done(parseAnswer(msg.toString('utf8'))?.backend ?? null));
    s.bind({ port: sport, address: values.source }, () => s.send('probe\n', port, host));
  });
}

function tcp(sport: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, localPort: sport, localAddress: values.source });
    let got = '';
    const done = (v: string | null) => { clearTimeout(t); s.destroy(); resolve(v); };
    const t = setTimeout(() => done(null), TIMEOUT_MS);
    s.setEncoding('utf8');
    s.on('data', (d: string) => { got += d; });
    s.on('end', () => done(parseAnswer(got)?.backend ?? null));
    s.on('error', () => done(null));
  });
}

const out: Record<number, string | null> = {};
const sports: number[] = [];
for (let p = Number(m[1]); p <= Number(m[2]); p++) sports.push(p);
// A few flows at a time: each is its own socket on its own source port.
for (let i = 0; i < sports.length; i += 16) {
  const batch = sports.slice(i, i + 16);
  const answers = await Promise.all(batch.map((p) => (values.proto === 'udp' ? udp(p) : tcp(p))));
  batch.forEach((p, j) => { out[p] = answers[j]; });
}
process.stdout.write(JSON.stringify(out) + '\n');
