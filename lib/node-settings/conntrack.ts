// conntrack settings as kube-proxy applies them at start (cmd/kube-proxy/app/server_linux.go and
// conntrack.go): nf_conntrack_max = max(maxPerCore × CPUs, min) unless maxPerCore is 0, with the
// hash table grown to max/4 buckets when it is smaller; the TCP and UDP timeouts that are above 0;
// tcp_be_liberal only when true. A value already right is not written; each change is one log line.
import type { ConntrackConfig } from '../config/conntrack.ts';
import type { Logger } from '../log.ts';
import type { NodeFiles } from './files.ts';

const SYSCTL = '/proc/sys/net/netfilter/';
const HASHSIZE = '/sys/module/nf_conntrack/parameters/hashsize';

export class NodeSettingsError extends Error {}

export interface SettingsOutcome {
  /** Each setting written: path, old and new value. */
  changed: { path: string; from: string; to: string }[];
  /** Files that do not exist yet: nf_conntrack is not loaded (the first ruleset loads it). */
  missing: string[];
}

/** The nf_conntrack_max kube-proxy would set, or 0 to leave it alone. */
export function conntrackMax(c: ConntrackConfig, cpus: number): number {
  if (c.maxPerCore <= 0) return 0;
  return Math.max(c.maxPerCore * cpus, c.min);
}

/** The per-network-namespace sysctls: name → value, only those the configuration sets. */
export function perNamespaceSettings(c: ConntrackConfig): Record<string, number> {
  const out: Record<string, number> = {};
  if (c.tcpEstablishedTimeout > 0) out.nf_conntrack_tcp_timeout_established = c.tcpEstablishedTimeout;
  if (c.tcpCloseWaitTimeout > 0) out.nf_conntrack_tcp_timeout_close_wait = c.tcpCloseWaitTimeout;
  if (c.tcpBeLiberal) out.nf_conntrack_tcp_be_liberal = 1;
  if (c.udpTimeout > 0) out.nf_conntrack_udp_timeout = c.udpTimeout;
  if (c.udpStreamTimeout > 0) out.nf_conntrack_udp_timeout_stream = c.udpStreamTimeout;
  return out;
}

/**
 * Applies `c` through `files`. Throws NodeSettingsError when a setting cannot be written (kube-proxy
 * exits then too), except the two kube-proxy also lets pass: a read-only /sys for the hash size (a
 * warning), and nf_conntrack_max outside the host's network namespace, where the kernel does not let
 * anyone set it (a warning when the value there is below the one wanted).
 */
export function applyConntrackSettings(c: ConntrackConfig, files: NodeFiles, log: Logger): SettingsOutcome {
  const out: SettingsOutcome = { changed: [], missing: [] };
  const set = (path: string, value: number): boolean => {
    const current = files.read(path);
    if (current === undefined) {
      out.missing.push(path);
      return false;
    }
    if (Number(current) === value) return false;
    try {
      files.write(path, String(value));
    } catch (e) {
      throw new NodeSettingsError(`cannot set ${path} to ${value} (it is ${current}): ${(e as Error).message}`);
    }
    out.changed.push({ path, from: current, to: String(value) });
    log.info('set node setting', { path, from: Number(current), to: value });
    return true;
  };

  const max = conntrackMax(c, files.cpus());
  if (max > 0) setMax(max);
  for (const [name, value] of Object.entries(perNamespaceSettings(c))) set(SYSCTL + name, value);
  return out;

  function setMax(max: number): void {
    const path = SYSCTL + 'nf_conntrack_max';
    const current = files.read(path);
    if (current !== undefined && Number(current) !== max && files.readOnly(path)) {
      const fields = { path, current: Number(current), wanted: max };
      if (Number(current) < max) log.warn('nf_conntrack_max is global and read-only in this network namespace: set it on the host', fields);
      else log.info('nf_conntrack_max is global and read-only in this network namespace; leaving it', fields);
      return;
    }
    set(path, max);
    // Buckets: kube-proxy grows the table to max/4 when it is smaller, and never shrinks it.
    const hashsize = files.read(HASHSIZE);
    if (hashsize === undefined) {
      out.missing.push(HASHSIZE);
      return;
    }
    const buckets = Math.floor(max / 4);
    if (Number(hashsize) >= buckets) return;
    if (!files.sysfsWritable()) {
      log.warn('/sys is read-only: cannot grow the conntrack hash table, lookups will be slower', { path: HASHSIZE, current: Number(hashsize), wanted: buckets });
      return;
    }
    set(HASHSIZE, buckets);
  }
}
