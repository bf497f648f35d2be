// Runs in a lab namespace: one UDP "connection", a socket bound to a fixed source port, sending a
// datagram and waiting for its answer, --count times. The same 5-tuple each time, so conntrack keeps
// one entry for it. Prints a JSON list: the backend that answered each datagram, or null.
//   udp-flow.ts --host 10.96.0.53 --port 53 --source-port 40001 [--count 3] [--timeout-ms 1000]
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';
import { parseAnswer } from '../../../lab/answer.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    'source-port': { type: 'string' },
    count: { type: 'string', default: '3' },
    'timeout-ms': { type: 'string', default: '1000' },
  },
});
if (!values.host || !values.port || !values['source-port']) {
  process.stderr.write('usage: udp-flow.ts --host ADDR --port N --source-port N [--count N] [--timeout-ms N]\n');
  process.exit(2);
}
const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
await new Promise<void>((resolve) => socket.bind(Number(values['source-port']), resolve));
await new Promise<void>((resolve, reject) => socket.connect(Number(values.port), values.host, (err?: Error) => (err ? reject(err) : resolve())));
const answers: (string | null)[] = [];
for (let i = 0; i < Number(values.count); i++) {
  answers.push(await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => { socket.off('message', onMessage); resolve(null); }, Number(values['timeout-ms']));
    const onMessage = (msg: Buffer) => { clearTimeout(timer); socket.off('message', onMessage); resolve(parseAnswer(msg.toString('utf8'))?.backend ?? null); };
    socket.on('message', onMessage);
    socket.on('error', () => {});
    socket.send('probe\n');
  }));
}
socket.close();
process.stdout.write(JSON.stringify(answers) + '\n');
