// Runs in a pod's namespace: `echo-server.ts --name pa1 --tcp 9376,8080 --udp 9376`.
// Prints "ready" once every port is open; exits when the lab process that started it is gone.
import { parseArgs } from 'node:util';
import { startEchoServers } from './echo.ts';

function ports(list: string): number[] {
  return list.split(',').filter((p) => p !== '').map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`not a port: ${p}`);
    return n;
  });
}

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    tcp: { type: 'string', default: '' },
    udp: { type: 'string', default: '' },
    host: { type: 'string', default: '::' },
  },
});
if (!values.name) {
  process.stderr.write('usage: echo-server.ts --name POD [--tcp P,P] [--udp P,P] [--host ADDR]\n');
  process.exit(2);
}

try {
  await startEchoServers({ name: values.name, tcpPorts: ports(values.tcp), udpPorts: ports(values.udp), host: values.host });
} catch (err) {
  process.stderr.write(`echo-server ${values.name}: ${(err as Error).message}\n`);
  process.exit(1);
}
process.stdout.write('ready\n');

// `ip netns exec` execs us, so our parent is the lab process; if it dies we are reparented.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500);
