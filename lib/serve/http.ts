// HTTP plumbing shared by the health, health-check node port and metrics servers.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';

/** Where a server listens: host '' means every address of the node (dual-stack where IPv6 is on). */
export interface BindAddress {
  host: string;
  port: number;
}

/** host:port for logs, with brackets around IPv6 hosts. */
export function formatBindAddress(a: BindAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A server that is listening, or still trying to. */
export interface Serving {
  /** The bound address, once listening (port 0 becomes the port the kernel chose). */
  readonly listening: Promise<AddressInfo>;
  /** Stops listening (or trying to) and drops open connections. */
  close(): Promise<void>;
}

export interface ServeOptions {
  logger: Logger;
  /** What this server is, for logs ("healthz", "metrics"). */
  name: string;
  /** Wait between bind attempts, as kube-proxy retries its servers every 5s. */
  retryMs?: number;
}

/**
 * Serves `handler` on `bind`, retrying the bind until it works: while kube-proxy still holds the
 * port during a migration, sluice keeps trying instead of exiting.
 */
export function serveHttp(handler: http.RequestListener, bind: BindAddress, opts: ServeOptions): Serving {
  const { logger, name } = opts;
  const retryMs = opts.retryMs ?? 5000;
  const server = http.createServer(handler);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let giveUp: (err: Error) => void = () => {};

  const listening = new Promise<AddressInfo>((resolve, reject) => {
    giveUp = reject;
    const attempt = () => {
      timer = undefined;
      if (closed) return;
      listenOnce(server, bind).then(
        (address) => {
          logger.info('serving', { server: name, address: formatBindAddress({ host: address.address, port: address.port }) });
          server.on('error', (err) => logger.error('server error', { server: name, error: String(err) }));
          resolve(address);
        },
        (err) => {
          if (closed) return;
          logger.warn('cannot listen, will retry', { server: name, address: formatBindAddress(bind), error: String(err), retryMs });
          timer = setTimeout(attempt, retryMs);
        },
      );
    };
    attempt();
  });
  listening.catch(() => {}); // a server closed before it ever listened is not an unhandled error

  return {
    listening,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      giveUp(new Error(`${name} server closed before it listened`));
      await closeServer(server);
    },
  };
}

/** One bind attempt: resolves when listening, rejects with the bind error (EADDRINUSE, EACCES...). */
export function listenOnce(server: http.Server, bind: BindAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: bind.host || undefined, port: bind.port });
  });
}

/** Stops accepting, drops keep-alive connections, and resolves once the socket is gone. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(JSON.stringify(body));
}

export function sendText(res: http.ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

/** The request path without its query string. */
export function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
