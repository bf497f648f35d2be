// KubeProxyConfiguration bind addresses ("0.0.0.0:10256", "[::]:10256", or a bare IP that gets the
// default port, as kube-proxy appends one) turned into what net.Server.listen takes.

export interface BindAddress {
  host: string;
  port: number;
}

export const DEFAULT_HEALTHZ_BIND_ADDRESS = '0.0.0.0:10256';
export const DEFAULT_METRICS_BIND_ADDRESS = '127.0.0.1:10249';

export function parseBindAddress(text: string, defaultPort: number): BindAddress {
  const s = text.trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else if (s.startsWith('[')) {
    host = ''; // an unclosed or trailing-colon bracket form: rejected below
  } else if ((s.match(/:/g) ?? []).length > 1) {
    host = s; // a bare IPv6 address: no port can follow without brackets
  } else {
    const i = s.lastIndexOf(':');
    host = i < 0 ? s : s.slice(0, i);
    portText = i < 0 ? undefined : s.slice(i + 1);
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535 || (portText !== undefined && !/^\d+$/.test(portText))) {
    throw new Error(`invalid bind address ${JSON.stringify(text)}: want host:port, [ipv6]:port or a bare IP`);
  }
  return { host, port };
}

/** host:port for logs, with brackets around IPv6 hosts. */
export function formatBindAddress(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
