// One probe attempt: a new TCP connection or a new connected UDP socket, so every attempt has a
// fresh source port and is a new flow for conntrack and for the service's load balancing.
import net from 'node:net';
import dgram from 'node:dgram';
import { parseAnswer } from './answer.ts';
import { outcomeOfError } from './probe-result.ts';
import type { Outcome } from './probe-result.ts';

export interface AttemptTarget {
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
  timeoutMs: number;
  /** bind this source address */
  source?: string;
}

export function attempt(t: AttemptTarget): Promise<Outcome> {
  if (!net.isIP(t.host)) return Promise.resolve({ kind: 'error', message: `not an IP address: ${t.host}` });
  return t.proto === 'tcp' ? tcpAttempt(t) : udpAttempt(t);
}

function answerOutcome(text: string): Outcome {
  const answer = parseAnswer(text);
  return answer ? { kind: 'answer', answer } : { kind: 'error', message: `not an answer: ${JSON.stringify(text)}` };
}

function tcpAttempt(t: AttemptTarget): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port, localAddress: t.source });
    let received = '';
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'timedOut' }), t.timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { received += chunk; });
    socket.on('end', () => finish(answerOutcome(received)));
    socket.on('error', (err) => finish(outcomeOfError(err)));
  });
}

function udpAttempt(t: AttemptTarget): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(t.host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try { socket.close(); } catch { /* already closed */ }
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'timedOut' }), t.timeoutMs);
    socket.on('message', (msg) => finish(answerOutcome(msg.toString('utf8'))));
    // Connected, so ICMP port-unreachable (refused) and admin-prohibited (unreachable) come back
    // as socket errors. Net/host-unreachable are "soft" ICMP errors that Linux reports to UDP only
    // with IP_RECVERR, which Node cannot set: for UDP those show up as timeouts.
    socket.on('error', (err) => finish(outcomeOfError(err)));
    socket.bind({ port: 0, address: t.source }, () => {
      // Node hands a connect failure to this callback, though @types/node leaves the argument out.
      const connected = (err?: Error) => {
        if (err) return finish(outcomeOfError(err));
        socket.send('probe\n', (sendErr) => { if (sendErr) finish(outcomeOfError(sendErr)); });
      };
      socket.connect(t.port, t.host, connected as () => void);
    });
  });
}
