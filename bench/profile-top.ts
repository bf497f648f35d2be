// Reads a V8 .cpuprofile (from `node --cpu-prof`) and prints where the time went: the functions with
// the most self time, the files with the most self time, and the project's functions with the most
// total (inclusive) time.
// Usage: node bench/profile-top.ts FILE.cpuprofile [--top 25] [--from-us T --to-us T (a stretch of it)]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Row { name: string; ms: number; share: number }
export interface ProfileSummary {
  /** busy time: every sample but (idle), the shares' denominator */
  totalMs: number;
  idleMs: number;
  selfByFunction: Row[];
  selfByFile: Row[];
  totalByFunction: Row[];
}

const REPO = fileURLToPath(new URL('..', import.meta.url));

function where(cf: CallFrame): string {
  if (!cf.url) return '';
  const path = cf.url.startsWith('file://') ? relative(REPO, fileURLToPath(cf.url)) : cf.url;
  return `${path}:${cf.lineNumber + 1}`;
}

function fileOf(cf: CallFrame): string {
  if (!cf.url) return cf.functionName || '(native)';
  const path = cf.url.startsWith('file://') ? relative(REPO, fileURLToPath(cf.url)) : cf.url;
  return path.replace(/^node_modules\/((@[^/]+\/)?[^/]+)\/.*$/, 'node_modules/$1');
}

function label(cf: CallFrame): string {
  const at = where(cf);
  return `${cf.functionName || '(anonymous)'}${at ? ` ${at}` : ''}`;
}

function rows(m: Map<string, number>, totalMs: number, top: number): Row[] {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => ({ name, ms, share: ms / totalMs }));
}

/** A stretch of the profile, in the profile's clock (microseconds of CLOCK_MONOTONIC, as process.hrtime). */
export interface Window { fromUs: number; toUs: number }

export function summarize(profile: CpuProfile, top = 25, window?: Window): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfFn = new Map<string, number>();
  const selfFile = new Map<string, number>();
  const totalFn = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      return;
    }
    totalUs += us;
    const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + us);
    add(selfFn, label(node.callFrame));
    add(selfFile, fileOf(node.callFrame));
    // Inclusive time: once per function on the stack, however often it recurses.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (!cf.url.startsWith('file://') || cf.url.includes('/node_modules/')) continue;
      const k = label(cf);
      if (!seen.has(k)) {
        seen.add(k);
        add(totalFn, k);
      }
    }
  });
  const totalMs = totalUs / 1000;
  const toMs = (m: Map<string, number>) => new Map([...m].map(([k, v]) => [k, v / 1000]));
  return {
    totalMs,
    idleMs: idleUs / 1000,
    selfByFunction: rows(toMs(selfFn), totalMs, top),
    selfByFile: rows(toMs(selfFile), totalMs, top),
    totalByFunction: rows(toMs(totalFn), totalMs, top),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const table = (title: string, rs: Row[]) => [
    title,
    ...rs.map((r) => `  ${r.ms.toFixed(0).padStart(7)} ms ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.name}`),
    '',
  ].join('\n');
  return [
    `busy ${s.totalMs.toFixed(0)} ms (shares below are of this), idle ${s.idleMs.toFixed(0)} ms`,
    '',
    table('self time by function:', s.selfByFunction),
    table('self time by file:', s.selfByFile),
    table('total (inclusive) time, the project\'s own functions:', s.totalByFunction),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, 'from-us': { type: 'string' }, 'to-us': { type: 'string' } },
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: profile-top.ts FILE.cpuprofile [--top N] [--from-us T --to-us T]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as CpuProfile;
  const window = values['from-us'] && values['to-us'] ? { fromUs: Number(values['from-us']), toUs: Number(values['to-us']) } : undefined;
  process.stdout.write(formatSummary(summarize(profile, Number(values.top), window)));
}
