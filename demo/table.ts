// Plain-text tables for the demo: which backend answered how often, and what source it saw.
import type { ProbeResult } from '../lab/lab.ts';
import type { DemoEndpoint } from './example.ts';

/** Columns separated by two spaces; columns whose header is in `right` are right-aligned. */
export function formatTable(header: string[], rows: string[][], right: string[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells
    .map((c, i) => (right.includes(header[i]) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
    .join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export interface BackendCount {
  answers: number;
  sources: Set<string>;
}

export function countAnswers(r: ProbeResult): Map<string, BackendCount> {
  const out = new Map<string, BackendCount>();
  for (const a of r.answers) {
    const c = out.get(a.backend) ?? { answers: 0, sources: new Set<string>() };
    c.answers++;
    c.sources.add(a.sawSource);
    out.set(a.backend, c);
  }
  return out;
}

export const TABLE_HEADER = ['backend', 'node', 'endpoint', 'answers', 'source the backend saw'];

/** One row per endpoint the example lists (answered or not), then any other backend that answered. */
export function answerTable(r: ProbeResult, endpoints: DemoEndpoint[]): string[] {
  const counts = countAnswers(r);
  const rows = endpoints.map((e) => {
    const c = counts.get(e.pod);
    return [e.pod, e.node, e.ready ? 'ready' : 'not ready', String(c?.answers ?? 0), c ? [...c.sources].sort().join(', ') : '-'];
  });
  for (const [backend, c] of counts) {
    if (!endpoints.some((e) => e.pod === backend)) rows.push([backend, '?', 'not listed', String(c.answers), [...c.sources].sort().join(', ')]);
  }
  const failed = r.refused + r.timedOut + r.unreachable + r.errors.length;
  if (failed) rows.push(['(no answer)', '', '', String(failed), failureText(r)]);
  return formatTable(TABLE_HEADER, rows, ['answers']);
}

function failureText(r: ProbeResult): string {
  const parts: string[] = [];
  if (r.refused) parts.push(`${r.refused} refused`);
  if (r.timedOut) parts.push(`${r.timedOut} timed out`);
  if (r.unreachable) parts.push(`${r.unreachable} unreachable`);
  if (r.errors.length) parts.push(`${r.errors.length} errors: ${r.errors[0]}`);
  return parts.join(', ');
}
