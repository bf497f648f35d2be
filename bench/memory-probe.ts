// What a node process's memory is made of, read from inside it: the kernel's peak and current
// resident set (VmHWM, VmRSS) and V8's heap after a full collection (live objects) next to what V8
// holds for them (heapTotal: the slack and the young generation). Loaded into any command with
//   node --expose-gc --import ./bench/memory-probe.ts ... (SLUICE_MEMORY_OUT=FILE)
// it writes one snapshot as JSON to FILE when the process exits; bench/memory-run.ts calls
// memorySnapshot() itself at the moments it measures.
import { readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

export interface MemorySnapshot {
  /** kernel: peak resident set so far, and now (KiB) */
  vmHWMKiB: number;
  vmRSSKiB: number;
  /** V8 after a full collection (bytes): live objects, what the heap has reserved, off-heap buffers */
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** per V8 space after that collection: size reserved and used (bytes) */
  spaces: Record<string, { size: number; used: number }>;
}

function statusKiB(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** The process's memory now; with --expose-gc, after a full collection (else heapUsed counts garbage too). */
export function memorySnapshot(): MemorySnapshot {
  (globalThis as { gc?: () => void }).gc?.();
  const u = process.memoryUsage();
  const spaces: MemorySnapshot['spaces'] = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size };
  return {
    vmHWMKiB: statusKiB('VmHWM'), vmRSSKiB: statusKiB('VmRSS'),
    heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers, spaces,
  };
}

const out = process.env.SLUICE_MEMORY_OUT;
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify(memorySnapshot())));
