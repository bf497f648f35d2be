// KubeProxyConfiguration's conntrack section (v1alpha1 `conntrack`, v1alpha2 `linux.conntrack`): the
// node's connection-tracking limits and timeouts, which kube-proxy sets at start and sluice sets the
// same way (lib/node-settings/). Defaults are kube-proxy's; 0 means "leave the kernel's value alone".
import { show } from '../model/validate.ts';
import { parseDuration } from './duration.ts';

export interface ConntrackConfig {
  /** Entries per CPU; nf_conntrack_max = max(maxPerCore × CPUs, min). 0: leave nf_conntrack_max alone. */
  maxPerCore: number;
  min: number;
  /** Seconds; 0: leave alone. */
  tcpEstablishedTimeout: number;
  tcpCloseWaitTimeout: number;
  /** true sets nf_conntrack_tcp_be_liberal to 1; false leaves it alone (as kube-proxy). */
  tcpBeLiberal: boolean;
  udpTimeout: number;
  udpStreamTimeout: number;
}

export const DEFAULT_CONNTRACK: ConntrackConfig = {
  maxPerCore: 32768,
  min: 131072,
  tcpEstablishedTimeout: 24 * 3600,
  tcpCloseWaitTimeout: 3600,
  tcpBeLiberal: false,
  udpTimeout: 0,
  udpStreamTimeout: 0,
};

const KNOWN = new Set(['maxPerCore', 'min', 'tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'tcpBeLiberal', 'udpTimeout', 'udpStreamTimeout']);
// int32 in kube-proxy's types.
const INT32_MAX = 2 ** 31 - 1;

/** `path` is where the section sits in the file (conntrack or linux.conntrack), for messages. */
export function parseConntrack(v: any, path: string, warn: (msg: string) => void, fail: (field: string, message: string) => never): ConntrackConfig {
  const c = { ...DEFAULT_CONNTRACK };
  if (v === undefined || v === null) return c;
  if (typeof v !== 'object' || Array.isArray(v)) fail(path, 'is not an object');
  for (const k of Object.keys(v)) if (!KNOWN.has(k)) warn(`config: unknown field ${path}.${k} ignored`);
  for (const k of ['maxPerCore', 'min'] as const) {
    if (v[k] === undefined || v[k] === null) continue;
    if (!Number.isInteger(v[k]) || v[k] < 0 || v[k] > INT32_MAX) fail(`${path}.${k}`, `${show(v[k])} is not a whole number from 0 to ${INT32_MAX}`);
    c[k] = v[k];
  }
  for (const k of ['tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'udpTimeout', 'udpStreamTimeout'] as const) {
    if (v[k] === undefined || v[k] === null) continue;
    const ms = parseDuration(v[k]);
    if (ms === undefined) fail(`${path}.${k}`, `${show(v[k])} is not a duration like 1h or 30s`);
    // The sysctls count whole seconds; kube-proxy truncates the same way (so "500ms" leaves it alone).
    c[k] = Math.floor(ms / 1000);
  }
  if (v.tcpBeLiberal !== undefined && v.tcpBeLiberal !== null) {
    if (typeof v.tcpBeLiberal !== 'boolean') fail(`${path}.tcpBeLiberal`, `${show(v.tcpBeLiberal)} is not true or false`);
    c.tcpBeLiberal = v.tcpBeLiberal;
  }
  return c;
}
