// A baseline for render: a node process that only reads and JSON-parses every manifest file in a
// folder (as bench/synth.ts writes them), and prints how many objects it found. What any renderer
// that starts a process and reads the folder pays before it does any work of its own.
// Usage: node bench/read-all.ts DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) n += walk(path);
    else if (e.name.endsWith('.json')) n += JSON.parse(readFileSync(path, 'utf8')) ? 1 : 0;
  }
  return n;
}

if (process.argv.length !== 3) {
  process.stderr.write('usage: read-all.ts DIR\n');
  process.exit(2);
}
process.stdout.write(`${walk(process.argv[2])}\n`);
