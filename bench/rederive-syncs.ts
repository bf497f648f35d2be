// Re-derives the first and the restart full sync of `sluice run` from its log, for results written
// before bench/daemon.ts ignored sluice's `full sync still being applied by nft` progress line (logged
// every 5 s of a long sync, with elapsedMs): such a run took that line for the end of the sync. The
// end is the `{"kind":"full"}` line that followed; the time between the two is taken from sluice's own
// timestamps (`ts`), so the spawn-to-end time is the measured one plus that difference. A result
// changed this way says so (`rederived`). A restart stopped before its sync ended is left unknown.
// Usage: node bench/rederive-syncs.ts bench/results.json [--md BENCHMARKS.md]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { DaemonResult } from './daemon.ts';
import { checkTargets, resultsMarkdown, spliceResults, type Results } from './results.ts';

interface Line { ts: string; msg?: string; kind?: string; durationMs?: number; elapsedMs?: number }

export function rederive(d: Extract<DaemonResult, { available: true }>, log: string): string[] {
  const lines = log.split('\n').flatMap((l) => { try { return [JSON.parse(l) as Line]; } catch { return []; } });
  const t = (l: Line) => Date.parse(l.ts);
  const notes: string[] = [];
  // The runs of sluice in the log: each starts where sluice says it lists its objects.
  const starts = lines.map((l, i) => (l.msg === 'objects listed, starting to sync' ? i : -1)).filter((i) => i >= 0);
  const runOf = (k: number) => lines.slice(starts[k] ?? 0, starts[k + 1] ?? lines.length);
  const fix = (run: Line[], measuredMs: number | undefined, loggedMs: number | undefined, what: string): { ms?: number; logged?: number } | undefined => {
    const still = run.find((l) => l.kind === undefined && /still/i.test(l.msg ?? ''));
    const full = run.find((l) => l.kind === 'full');
    // Only a result that took the progress line (its logged time is that line's elapsedMs) is re-derived.
    if (!still || measuredMs === undefined || loggedMs !== still.elapsedMs) return undefined;
    if (!full || t(full) < t(still)) {
      notes.push(`${what}: the sync was stopped before it ended (it had taken more than ${still.elapsedMs} ms); unknown`);
      return { ms: undefined, logged: undefined };
    }
    const ms = measuredMs + (t(full) - t(still));
    notes.push(`${what}: ${Math.round(measuredMs)} ms measured to the progress line + ${t(full) - t(still)} ms to the end in sluice's log = ${Math.round(ms)} ms`);
    return { ms, logged: full.durationMs };
  };
  const first = fix(runOf(0), d.firstFullSyncMs, d.firstFullSyncLoggedMs, 'first full sync');
  if (first?.ms !== undefined) {
    d.firstFullSyncMs = first.ms;
    d.firstFullSyncLoggedMs = first.logged;
    d.peakRssAfterFirstSyncKiB = undefined; // read at the progress line, not after the sync
  }
  if (starts.length > 1) {
    const again = fix(runOf(1), d.restartFullSyncMs, d.restartFullSyncLoggedMs, 'restart full sync');
    if (again) {
      d.restartFullSyncMs = again.ms;
      d.restartFullSyncLoggedMs = again.logged;
    }
  }
  return notes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { md: { type: 'string' } } });
  const file = positionals[0];
  const r = JSON.parse(readFileSync(file, 'utf8')) as Results & { rederived?: Record<string, string[]> };
  r.rederived ??= {};
  for (const s of r.sizes) {
    for (const [key, d] of [['manifests', s.daemon], ['api', s.daemonApi]] as const) {
      if (!d?.available) continue;
      const notes = rederive(d, readFileSync(d.logFile, 'utf8'));
      if (notes.length) {
        r.rederived[`${s.services}x${s.endpoints} ${key}`] = notes;
        process.stderr.write(`${s.services}x${s.endpoints} ${key}:\n  ${notes.join('\n  ')}\n`);
      }
    }
  }
  r.targets = checkTargets(r);
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
  if (values.md) writeFileSync(values.md, spliceResults(readFileSync(values.md, 'utf8'), resultsMarkdown(r)));
}
