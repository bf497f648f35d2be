#!/usr/bin/env -S node
// `make demo` / `npm run demo`: sluice live on one machine (demo). Needs root, nft and ip; without
// them it prints the dry run and exits 1. --keep leaves everything running until Ctrl-C.
import { parseArgs } from 'node:util';
import { runDemo } from '../demo/main.ts';

let keep = false;
try {
  keep = parseArgs({ options: { keep: { type: 'boolean' } }, strict: true }).values.keep ?? false;
} catch (e) {
  process.stderr.write(`demo: ${(e as Error).message}\nusage: demo.ts [--keep]\n`);
  process.exit(2);
}
process.exitCode = await runDemo({ keep });
