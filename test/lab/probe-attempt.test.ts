// Echo servers and probe attempts on the loopback interface: no namespaces, no root needed.
import dgram from 'node:dgram';
import net from 'node:net';
import { formatAnswer, parseAnswer, plainAddress } from '../../lab/answer.ts';
import { startEchoServers } from '../../lab/echo.ts';
import type { EchoServers } from '../../lab/echo.ts';
import { attempt } from '../../lab/probe-attempt.ts';
import { outcomeOfError, tally } from '../../lab/probe-result.ts';

describe('answers', () => {
  test('IPv4-mapped peers are shown as plain IPv4', () => {
    expect(plainAddress('::ffff:172.30.0.100')).toBe('172.30.0.100');
    expect(plainAddress('fd00:30::100')).toBe('fd00:30::100');
    expect(formatAnswer('pa1', '::ffff:10.244.1.11', 9376)).toBe('pa1 10.244.1.11 9376\n');
  });

  test('parseAnswer reads a line and refuses anything else', () => {
    expect(parseAnswer('pa1 fd00:30::100 8080\n')).toEqual({ backend: 'pa1', sawSource: 'fd00:30::100', port: 8080 });
    expect(parseAnswer('pa1 fd00:30::100\n')).toBeNull();
    expect(parseAnswer('HTTP/1.1 400 Bad Request\r\n')).toBeNull();
    expect(parseAnswer('')).toBeNull();
  });

  test('tally counts each kind of outcome', () => {
    const r = tally([
      { kind: 'answer', answer: { backend: 'a', sawSource: 's', port: 1 } }, outcomeOfError({ code: 'ECONNREFUSED', message: '' }),
      outcomeOfError({ code: 'EHOSTUNREACH', message: '' }), outcomeOfError({ code: 'EACCES', message: '' }),
      { kind: 'timedOut' }, outcomeOfError({ code: 'EADDRNOTAVAIL', message: 'bind' }),
    ]);
    expect(r).toEqual({ answers: [{ backend: 'a', sawSource: 's', port: 1 }], refused: 1, timedOut: 1, unreachable: 2, errors: ['EADDRNOTAVAIL: bind'] });
  });
});

describe.each(['127.0.0.1', '::1'])('echo server and probe attempts on %s', (host) => {
  let echo: EchoServers;
  beforeAll(async () => {
    echo = await startEchoServers({ name: 'loop', tcpPorts: [0], udpPorts: [0], host });
  });
  afterAll(() => echo.close());

  test('a TCP attempt gets the pod name and its own address', async () => {
    expect(await attempt({ proto: 'tcp', host, port: echo.tcpPorts[0], timeoutMs: 2000 }))
      .toEqual({ kind: 'answer', answer: { backend: 'loop', sawSource: host, port: echo.tcpPorts[0] } });
  });

  test('a UDP attempt gets the pod name and its own address', async () => {
    expect(await attempt({ proto: 'udp', host, port: echo.udpPorts[0], timeoutMs: 2000 }))
      .toEqual({ kind: 'answer', answer: { backend: 'loop', sawSource: host, port: echo.udpPorts[0] } });
  });

  test('a closed port is refused, for TCP (reset) and UDP (ICMP port unreachable)', async () => {
    const port = await closedPort(host);
    expect(await attempt({ proto: 'tcp', host, port, timeoutMs: 2000 })).toEqual({ kind: 'refused' });
    expect(await attempt({ proto: 'udp', host, port, timeoutMs: 2000 })).toEqual({ kind: 'refused' });
  });

  test('a UDP port that never answers times out', async () => {
    const silent = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => silent.bind(0, host, resolve));
    try {
      const started = Date.now();
      expect(await attempt({ proto: 'udp', host, port: silent.address().port, timeoutMs: 200 })).toEqual({ kind: 'timedOut' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      silent.close();
    }
  });
});

test('a source address the host does not have is an error, not a verdict about the target', async () => {
  const o = await attempt({ proto: 'tcp', host: '127.0.0.1', port: 9, timeoutMs: 500, source: '192.0.2.1' });
  expect(o).toMatchObject({ kind: 'error', message: expect.stringMatching(/EADDRNOTAVAIL/) });
});

test('a host that is not an IP address is an error', async () => {
  expect(await attempt({ proto: 'udp', host: 'example.com', port: 53, timeoutMs: 500 })).toMatchObject({ kind: 'error' });
});

/** A port nothing listens on (just freed by a server that held it). */
async function closedPort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
