// The echo servers a lab pod runs: every TCP connection and every UDP datagram is answered with
// the pod's name and the peer address the pod saw, so a probe learns which backend it reached
// and whether its source address was rewritten on the way.
import net from 'node:net';
import dgram from 'node:dgram';
import { formatAnswer } from './answer.ts';

export interface EchoOptions {
  name: string;
  tcpPorts: number[];
  udpPorts: number[];
  /** '::' (dual stack, the default) in a pod; tests on a shared machine use a loopback address */
  host?: string;
}

export interface EchoServers {
  /** the ports bound, in the order given (useful when asking for port 0) */
  tcpPorts: number[];
  udpPorts: number[];
  close(): Promise<void>;
}

interface Bound {
  port: number;
  close(): Promise<void>;
}

export async function startEchoServers(opts: EchoOptions): Promise<EchoServers> {
  const host = opts.host ?? '::';
  const tcp: Bound[] = [];
  const udp: Bound[] = [];
  const close = () => Promise.all([...tcp, ...udp].map((b) => b.close())).then(() => undefined);
  try {
    for (const port of opts.tcpPorts) tcp.push(await listenTcp(opts.name, host, port));
    for (const port of opts.udpPorts) udp.push(await bindUdp(opts.name, host, port));
  } catch (err) {
    await close();
    throw err;
  }
  return { tcpPorts: tcp.map((b) => b.port), udpPorts: udp.map((b) => b.port), close };
}

function listenTcp(name: string, host: string, port: number): Promise<Bound> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {}); // a peer that resets early is not the server's problem
    socket.end(formatAnswer(name, socket.remoteAddress ?? '?', socket.localPort ?? 0));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve({ port: (server.address() as net.AddressInfo).port, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

function bindUdp(name: string, host: string, port: number): Promise<Bound> {
  const socket = dgram.createSocket({ type: net.isIPv4(host) ? 'udp4' : 'udp6', ipv6Only: false });
  socket.on('message', (_msg, peer) => {
    socket.send(formatAnswer(name, peer.address, socket.address().port), peer.port, peer.address, () => {});
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port }, () => {
      socket.off('error', reject);
      socket.on('error', () => {}); // ICMP errors for replies to vanished peers
      resolve({ port: socket.address().port, close: () => new Promise((done) => socket.close(() => done())) });
    });
  });
}
