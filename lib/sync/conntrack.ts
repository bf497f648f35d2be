// UDP conntrack reconciliation after each sync, as kube-proxy does it: read the kernel's UDP entries
// of each family, decide which are stale against the current model (conntrack-stale.ts), delete
// those. Reading the kernel instead of diffing models finds every stale entry, made while sluice was
// down or before it ever ran included.
//
// Deletions go to one `conntrack -R FILE` per family: the tool dumps the whole table for every -D it
// runs, so one process (or one -D) per entry costs O(entries x table) - about 10 s for 1,000 stale
// entries - while one -D per distinct (door, reply source) deletes the same 1,000 in ~20 ms.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../log.ts';
import type { Family, ProxyModel } from '../model/types.ts';
import type { IPFamily } from '../serve/ip-family.ts';
import { listArgs, parseFlowLine } from './conntrack-entries.ts';
import { canHaveStale, deleteArgs, servingIndex, staleCollector, type StaleFlow } from './conntrack-stale.ts';

export interface ConntrackReconcileResult {
  /** Entries deleted, by family. */
  deleted: Record<IPFamily, number>;
}

/** Brings the kernel's UDP conntrack entries in line with a model; never throws (a failure is logged). */
export interface Conntrack {
  reconcile(model: ProxyModel): Promise<ConntrackReconcileResult>;
}

/** kube-proxy's two reconciler metrics (serve/metrics.ts). */
export interface ConntrackMetrics {
  conntrackReconcilerSyncDuration: Histogram<'ip_family'>;
  conntrackReconcilerDeletedEntriesTotal: Counter<'ip_family'>;
}

const FAMILIES: [Family, IPFamily][] = [[4, 'IPv4'], [6, 'IPv6']];
// Listing a full table (262,144 entries by default) takes well under this; a hung tool must not hang the sync.
const TIMEOUT_MS = 120_000;

export function execConntrack(log: Logger, binary = 'conntrack', metrics?: ConntrackMetrics): Conntrack {
  /** The family's stale flows, read from the tool's listing a line at a time (a big table is never held whole). */
  async function findStale(family: Family, model: ProxyModel): Promise<StaleFlow[]> {
    const index = servingIndex(model, family);
    if (!canHaveStale(index)) return [];
    const sub = execa(binary, listArgs(family), { reject: false, buffer: { stdout: false }, timeout: TIMEOUT_MS });
    // Decided line by line: only stale flows are kept, never the table.
    const stale = staleCollector(index);
    for await (const line of sub.iterable({ from: 'stdout' })) {
      const e = parseFlowLine(String(line));
      if (e) stale.add(e);
    }
    const r = await sub;
    if (r.exitCode !== 0) log.warn('conntrack could not list UDP entries; reconciling those it listed', { family, stderr: String(r.stderr).trim(), timedOut: r.timedOut });
    return stale.flows();
  }

  /** Deletes the flows in one batch; the tool prints each entry it deleted on a line of its own. */
  async function deleteFlows(flows: StaleFlow[]): Promise<number> {
    if (flows.length === 0) return 0;
    const batch = flows.map((f) => deleteArgs(f).join(' ') + '\n').join('');
    // From a file: `-R -` opens /dev/stdin, which fails on the socket Node gives a child for stdin.
    const dir = await mkdtemp(join(tmpdir(), 'sluice-conntrack-'));
    let r;
    try {
      const file = join(dir, 'delete');
      await writeFile(file, batch);
      r = await execa(binary, ['-R', file], { reject: false, timeout: TIMEOUT_MS, maxBuffer: 1 << 28 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const deleted = countEntries(String(r.stdout));
    if (r.exitCode === 0) return deleted;
    // A conntrack without --load-file (before 1.4.6), or a batch refused part way: one process per flow.
    log.warn('conntrack -R failed; deleting one flow at a time', { stderr: String(r.stderr).trim(), flows: flows.length });
    let more = 0;
    for (const f of flows) {
      const one = await execa(binary, deleteArgs(f), { reject: false, timeout: TIMEOUT_MS });
      // Exit 1 with "0 flow entries" when nothing matched (the batch may have deleted it already).
      if (one.exitCode !== 0 && !/ 0 flow entries/.test(String(one.stderr))) log.warn('conntrack deletion failed', { args: deleteArgs(f), stderr: String(one.stderr).trim() });
      more += countEntries(String(one.stdout));
    }
    return deleted + more;
  }

  return {
    async reconcile(model) {
      const deleted: Record<IPFamily, number> = { IPv4: 0, IPv6: 0 };
      for (const [family, ip_family] of FAMILIES) {
        const started = performance.now();
        try {
          const flows = await findStale(family, model);
          deleted[ip_family] = await deleteFlows(flows);
          if (flows.length > 0) log.info('deleted stale UDP conntrack entries', { ip_family, entries: deleted[ip_family], flows: flows.length, durationMs: Math.round(performance.now() - started) });
        } catch (e) {
          log.warn('UDP conntrack reconciliation failed', { ip_family, error: (e as Error).message });
        }
        metrics?.conntrackReconcilerSyncDuration.observe({ ip_family }, (performance.now() - started) / 1000);
        metrics?.conntrackReconcilerDeletedEntriesTotal.inc({ ip_family }, deleted[ip_family]);
      }
      return { deleted };
    },
  };
}

/** Entries conntrack printed (as it does for each one it deletes), in its default one-line format. */
function countEntries(stdout: string): number {
  let n = 0;
  for (const line of stdout.split('\n')) if (/^udp\s/.test(line)) n++;
  return n;
}
