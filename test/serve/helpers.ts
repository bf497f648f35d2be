// Real HTTP against real servers on 127.0.0.1, and a clock tests move by hand.

import http from 'node:http';
import net from 'node:net';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET on a fresh connection (no keep-alive pool that could outlive a closed server). */
export function get(port: number, path: string, host = '127.0.0.1'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

export async function getJson(port: number, path: string): Promise<{ status: number; json: any; headers: http.IncomingHttpHeaders }> {
  const r = await get(port, path);
  return { status: r.status, json: JSON.parse(r.body), headers: r.headers };
}

/** A port that was free a moment ago (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Holds a port until released, to make a bind fail. */
export function occupy(port: number): Promise<{ release(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(port, '127.0.0.1', () => resolve({ release: () => new Promise<void>((r) => s.close(() => r())) }));
  });
}

export function fakeClock(start = Date.parse('2025-06-01T12:00:00Z')) {
  let t = start;
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
  };
}
