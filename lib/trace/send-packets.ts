// Sends the first packet of each connection it is given, from inside a network namespace
// (`ip netns exec NS node send-packets.ts`): a TCP SYN (a connect abandoned before any retransmit)
// or one UDP datagram, each from its own source address and port so the kernel's trace can tell
// them apart. Input: a JSON array on stdin, validated here again since this is its own program.
import dgram from 'node:dgram';
import net from 'node:net';
import { parseIP } from '../model/ip.ts';

export interface OutgoingPacket { proto: 'tcp' | 'udp'; saddr: string; sport: number; daddr: string; dport: number }

const isPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;

function valid(p: OutgoingPacket): boolean {
  return (p.proto === 'tcp' || p.proto === 'udp') && parseIP(p.saddr)?.address === p.saddr && parseIP(p.daddr)?.address === p.daddr
    && isPort(p.sport) && isPort(p.dport);
}

function send(p: OutgoingPacket): Promise<void> {
  return new Promise((resolve) => {
    if (p.proto === 'udp') {
      const s = dgram.createSocket(p.saddr.includes(':') ? 'udp6' : 'udp4');
      s.on('error', () => { s.close(); resolve(); });
      s.bind({ address: p.saddr, port: p.sport }, () => s.send('sluice trace', p.dport, p.daddr, () => { s.close(); resolve(); }));
      return;
    }
    const s = net.connect({ host: p.daddr, port: p.dport, localAddress: p.saddr, localPort: p.sport });
    s.on('error', () => {});
    // The SYN is out at once; the first retransmission would come after a second.
    setTimeout(() => { s.destroy(); resolve(); }, 250);
  });
}

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const packets = JSON.parse(input) as OutgoingPacket[];
  if (!Array.isArray(packets) || !packets.every(valid)) throw new Error('send-packets: invalid packet list');
  await Promise.all(packets.map(send));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(() => process.exit(0), (e) => { process.stderr.write(`${e}\n`); process.exit(1); });
}
