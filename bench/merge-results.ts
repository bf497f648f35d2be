// Puts the stages of a second run into the results of a first one, for the sizes and stages the
// second one measured (e.g. `sluice run` again after a failure), and says so in the results: each
// replaced stage is listed in `merged` with the date of the run it comes from. Ratios between stages
// of different runs are then across runs; the block of BENCHMARKS.md lists which ones.
// Usage: node bench/merge-results.ts FIRST.json SECOND.json OUT.json [--stages render,floor,run] [--md BENCHMARKS.md]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkTargets, resultsMarkdown, spliceResults, type Results, type SizeResult } from './results.ts';

const FIELDS: Record<string, (keyof SizeResult)[]> = {
  render: ['render', 'renderAsBin', 'baseline'],
  floor: ['floor'],
  'kube-proxy': ['kubeProxy'],
  small: ['small'],
  run: ['daemon', 'daemonApi'],
};

export function mergeResults(first: Results, second: Results, stages: string[]): Results {
  const out = structuredClone(first);
  out.merged ??= [];
  for (const s2 of second.sizes) {
    const s1 = out.sizes.find((s) => s.services === s2.services && s.endpoints === s2.endpoints);
    if (!s1) continue;
    for (const stage of stages) {
      for (const f of FIELDS[stage] ?? []) {
        if (s2[f] !== undefined) (s1 as unknown as Record<string, unknown>)[f] = s2[f];
      }
      delete s1.errors[stage];
      if (s2.errors[stage]) s1.errors[stage] = s2.errors[stage];
      out.merged.push({ size: `${s2.services}x${s2.endpoints}`, stage, from: second.date, loadAverage: [s2.loadAverage.before[0], s2.loadAverage.after[0]] });
    }
  }
  out.loadAverage.end = second.loadAverage.end;
  out.targets = checkTargets(out);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { stages: { type: 'string', default: 'render,floor,run' }, md: { type: 'string' } } });
  const [a, b, outFile] = positionals;
  const merged = mergeResults(JSON.parse(readFileSync(a, 'utf8')), JSON.parse(readFileSync(b, 'utf8')), values.stages.split(','));
  writeFileSync(outFile, JSON.stringify(merged, null, 2) + '\n');
  if (values.md) writeFileSync(values.md, spliceResults(readFileSync(values.md, 'utf8'), resultsMarkdown(merged)));
}
