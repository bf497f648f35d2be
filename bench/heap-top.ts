// Where the memory of a node process was allocated, from a sampling heap profile (`node --heap-prof`,
// a .heapprofile written at exit): the sampled bytes still live then, by the sluice file and function
// that allocated them (inclusive of what they called). For the peak-RSS targets: run
//   node --heap-prof --heap-prof-dir=bench/out/heap --max-semi-space-size=8 cmd/sluice.ts render --from DIR --config CFG > /dev/null
//   node bench/heap-top.ts bench/out/heap/*.heapprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface HeapNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: HeapNode[] }

export function heapSummary(root: HeapNode, top = 25): { totalBytes: number; byFile: [string, number][]; byFunction: [string, number][] } {
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalBytes = 0;
  // Inclusive: a node's bytes count for every sluice frame on its stack (once per frame name).
  const walk = (n: HeapNode, stack: { file: string; fn: string }[]) => {
    const url = n.callFrame.url;
    const m = /\/(lib|cmd)\/(.*)$/.exec(url);
    const here = m ? [...stack, { file: `${m[1]}/${m[2]}`, fn: `${n.callFrame.functionName || '(anonymous)'} ${m[1]}/${m[2]}:${n.callFrame.lineNumber + 1}` }] : stack;
    totalBytes += n.selfSize;
    if (n.selfSize) {
      for (const f of new Set(here.map((h) => h.file))) byFile.set(f, (byFile.get(f) ?? 0) + n.selfSize);
      for (const f of new Set(here.map((h) => h.fn))) byFunction.set(f, (byFunction.get(f) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(root, []);
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalBytes, byFile: sorted(byFile), byFunction: sorted(byFunction) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const s = heapSummary((JSON.parse(readFileSync(positionals[0], 'utf8')) as { head: HeapNode }).head, Number(values.top));
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  process.stdout.write(`live at exit (sampled): ${mib(s.totalBytes)}\n\nby file (inclusive):\n${s.byFile.map(([k, v]) => `  ${mib(v).padStart(10)}  ${k}`).join('\n')}\n\nby function (inclusive):\n${s.byFunction.map(([k, v]) => `  ${mib(v).padStart(10)}  ${k}`).join('\n')}\n`);
}
