// Writes the kernel tests' cases into a folder: every golden script, and per transition the script
// before, the partial transaction and the script after. check.sh runs them (on the host, or in a VM).
//   node_modules/.bin/node test/kernels/generate.ts OUT_DIR
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transitionScripts } from './sluice-scripts.ts';
import { CONFIG, NODE, TRANSITIONS } from './transitions.ts';

const out = process.argv[2];
if (!out) {
  console.error('usage: generate.ts OUT_DIR');
  process.exit(2);
}
const fixtures = fileURLToPath(new URL('../../rules-fixtures/', import.meta.url));

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'golden'), { recursive: true });
let goldens = 0;
for (const d of readdirSync(fixtures, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
  const file = join(fixtures, d, 'expected.nft');
  if (!existsSync(file)) continue;
  copyFileSync(file, join(out, 'golden', `${d}.nft`));
  goldens++;
}
if (goldens === 0) throw new Error(`no golden scripts under ${fixtures}`);

for (const tr of TRANSITIONS) {
  const scripts = transitionScripts(tr.from, tr.to, CONFIG, NODE);
  if (!scripts.transaction.trim()) throw new Error(`${tr.name}: the transaction is empty, the case tests nothing`);
  const dir = join(out, 'transition', tr.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'from.nft'), scripts.from);
  writeFileSync(join(dir, 'tx.nft'), scripts.transaction);
  writeFileSync(join(dir, 'to.nft'), scripts.to);
}
// Hand-written probes of kernel behaviour sluice depends on: same layout, copied as they are.
const probes = fileURLToPath(new URL('./probes/', import.meta.url));
for (const p of readdirSync(probes)) {
  mkdirSync(join(out, 'probe', p), { recursive: true });
  for (const f of ['from.nft', 'tx.nft', 'to.nft']) copyFileSync(join(probes, p, f), join(out, 'probe', p, f));
}
console.log(`${goldens} golden scripts and ${TRANSITIONS.length} transitions written to ${out}`);
