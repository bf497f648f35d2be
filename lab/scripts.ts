// How the lab starts its own TypeScript scripts (echo server, probe) inside a namespace.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ECHO_SERVER_SCRIPT = fileURLToPath(new URL('./echo-server.ts', import.meta.url));
export const PROBE_SCRIPT = fileURLToPath(new URL('./probe.ts', import.meta.url));
const PROJECT_NODE = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));

/** A node that runs .ts files: this one if it strips types, else the project's own (node_modules/.bin/node). */
export function nodeBinary(): string {
  if ((process.features as { typescript?: unknown }).typescript) return process.execPath;
  return fs.existsSync(PROJECT_NODE) ? PROJECT_NODE : process.execPath;
}

/** `ip netns exec NS node script args…` as a command and its arguments. */
export function inNamespace(ns: string, cmd: string, args: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, cmd, ...args]];
}

export function scriptInNamespace(ns: string, script: string, args: string[]): [string, string[]] {
  return inNamespace(ns, nodeBinary(), [script, ...args]);
}

/** A shell line writing each "net.x.y=v" under /proc/sys (no dependency on procps' sysctl). */
export function sysctlShell(settings: string[]): string {
  return settings.map((s) => {
    const m = /^([a-z0-9_.-]+)=([0-9]+)$/.exec(s);
    if (!m) throw new Error(`not a sysctl setting: ${s}`);
    return `echo ${m[2]} > /proc/sys/${m[1].replaceAll('.', '/')}`;
  }).join(' && ');
}
