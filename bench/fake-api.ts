// The synthetic cluster served by the test suite's fake Kubernetes API server
// (test/support/fake-apiserver.ts), for `sluice run --kubeconfig`: run it inside the network namespace
// sluice runs in (it listens on that namespace's 127.0.0.1). It loads every object of the cluster's
// folder, writes a kubeconfig, prints `ready` on stdout, then applies the objects it reads on stdin,
// one JSON object a line (each one watch event: ADDED or MODIFIED), printing `ok N` after each line.
// With --as-served, every object is given what a real API server's objects carry (bench/synth.ts asServed).
// Usage: node bench/fake-api.ts DIR KUBECONFIG [--as-served]
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { FakeApiServer } from '../test/support/fake-apiserver.ts';
import { manifestFiles } from '../lib/manifests/read.ts';
import { asServed } from './synth.ts';

async function main(): Promise<void> {
  const [dir, kubeconfig, option] = process.argv.slice(2);
  const served = option === '--as-served' ? asServed : <T>(obj: T) => obj;
  if (!kubeconfig) throw new Error('usage: fake-api.ts DIR KUBECONFIG');
  const server = await FakeApiServer.start();
  let objects = 0;
  for (const file of manifestFiles(dir)) {
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    for (const obj of doc.kind === 'List' ? doc.items : [doc]) { server.apply(served(obj)); objects++; }
  }
  server.writeKubeconfig(kubeconfig);
  process.stdout.write(`ready ${objects} ${server.url}\n`);
  let n = 0;
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === '') return;
    const batch = JSON.parse(line);
    for (const obj of Array.isArray(batch) ? batch : [batch]) { server.apply(served(obj)); n++; }
    process.stdout.write(`ok ${n}\n`);
  }).on('close', () => { void server.close().then(() => process.exit(0)); });
}

main().catch((e) => {
  process.stderr.write(`fake-api: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
