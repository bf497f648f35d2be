// UDP has no connection for a client to lose: a conntrack entry keeps sending its datagrams to a
// gone endpoint, or on to the reject a service had before it had endpoints. After each sync, the
// entries that now point the wrong way are deleted (as kube-proxy does), with the conntrack tool.
import { execa } from 'execa';
import type { Logger } from '../log.ts';
import { usableEndpoints } from '../model/usable.ts';
import type { Family, ProxyModel, ServicePort } from '../model/types.ts';

/**
 * `conntrack -D -p udp` for one family, narrowed by original destination address or port, and either
 * by the DNAT target (entries sent to an endpoint that is gone) or by the reply's source (entries
 * that were never DNATed: their reply comes from the address or port they were sent to).
 */
export interface ConntrackDeletion {
  family: Family;
  origDst?: string;
  dport?: number;
  dstNat?: string;
  replySrc?: string;
  replySport?: number;
}

const udpKey = (sp: ServicePort) => `${sp.namespace}/${sp.name}/${sp.family}/${sp.portName}/${sp.port}`;

function frontDoors(sp: ServicePort): { origDst?: string; dport?: number }[] {
  const doors: { origDst?: string; dport?: number }[] = [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs].map((ip) => ({ origDst: ip }));
  if (sp.nodePort !== undefined) doors.push({ dport: sp.nodePort });
  return doors;
}

export function conntrackDeletions(before: ProxyModel | undefined, after: ProxyModel): ConntrackDeletion[] {
  const udp = (m: ProxyModel | undefined) => new Map((m?.servicePorts ?? []).filter((sp) => sp.protocol === 'udp').map((sp) => [udpKey(sp), sp]));
  const old = udp(before), now = udp(after);
  const out: ConntrackDeletion[] = [];
  for (const [key, sp] of old) {
    const was = usableEndpoints(sp.endpoints);
    const next = now.get(key);
    const still = new Set(next ? usableEndpoints(next.endpoints).map((e) => e.address) : []);
    for (const e of was) {
      if (still.has(e.address)) continue;
      for (const door of frontDoors(sp)) out.push({ family: sp.family, ...door, dstNat: e.address });
    }
  }
  // A service port that had no endpoint (or that sluice has not programmed before, as at start-up)
  // may have entries of datagrams that went past it un-DNATed, before it had rules: those would keep
  // its flows from ever reaching an endpoint. Only those go: entries DNATed to an endpoint are right
  // (deleting them, as at every restart of sluice, would send established flows elsewhere).
  for (const [key, sp] of now) {
    const prev = old.get(key);
    const hadNone = !prev || usableEndpoints(prev.endpoints).length === 0;
    if (hadNone && usableEndpoints(sp.endpoints).length > 0) {
      for (const door of frontDoors(sp)) {
        out.push(door.origDst !== undefined
          ? { family: sp.family, origDst: door.origDst, dport: sp.port, replySrc: door.origDst }
          : { family: sp.family, dport: door.dport, replySport: door.dport });
      }
    }
  }
  const seen = new Set<string>();
  return out.filter((d) => {
    const k = JSON.stringify(d);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface Conntrack {
  delete(deletions: ConntrackDeletion[]): Promise<void>;
}

export function conntrackArgs(d: ConntrackDeletion): string[] {
  const args = ['-D', '-f', d.family === 4 ? 'ipv4' : 'ipv6', '-p', 'udp'];
  if (d.origDst !== undefined) args.push('--orig-dst', d.origDst);
  if (d.dport !== undefined) args.push('--dport', String(d.dport));
  if (d.dstNat !== undefined) args.push('--dst-nat', d.dstNat);
  if (d.replySrc !== undefined) args.push('--reply-src', d.replySrc);
  if (d.replySport !== undefined) args.push('--reply-port-src', String(d.replySport));
  return args;
}

export function execConntrack(log: Logger, binary = 'conntrack'): Conntrack {
  return {
    async delete(deletions) {
      for (const d of deletions) {
        const r = await execa(binary, conntrackArgs(d), { reject: false });
        // conntrack exits 1 when nothing matched: that is not a failure.
        if (r.exitCode !== 0 && !/0 flow entries/.test(String(r.stderr))) {
          log.warn('conntrack deletion failed', { args: conntrackArgs(d), stderr: String(r.stderr).trim() });
        }
      }
    },
  };
}
