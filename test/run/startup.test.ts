// `sluice run` that cannot start exits with an error instead of hanging; the cleanup command removes
// exactly sluice's tables. Each in a namespace of its own (sluice writes nft rules).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { labAvailable } from '../../lab/lab.ts';
import { nodeBinary } from '../../lab/scripts.ts';
import { run, runOk } from '../../lab/run.ts';
import { kernelListing } from './support/kernel.ts';
import { createWorkspace, serviceYaml, writeManifest, type Workspace } from './support/manifests.ts';
import { killAllSluices, SLUICE, startSluice } from './support/sluice-process.ts';

const available = await labAvailable();
if (!available.ok) console.warn(`skipping sluice run start-up tests: ${available.reason}`);
const maybe = available.ok ? describe : describe.skip;
const skipNote = available.ok ? '' : ` (skipped: ${available.reason})`;

maybe(`sluice run start-up and sluice cleanup${skipNote}`, () => {
  const ns = `slstart${randomBytes(3).toString('hex')}`;
  let ws: Workspace;
  beforeAll(async () => {
    await runOk('ip', ['netns', 'add', ns]);
    ws = createWorkspace();
  });
  afterAll(async () => {
    await killAllSluices();
    await run('ip', ['netns', 'del', ns]);
    ws?.remove();
  });

  test.each([
    ['--from', ['--from', '/nonexistent/manifests'], /ENOENT/],
    ['--kubeconfig', ['--kubeconfig', '/nonexistent/kubeconfig'], /ENOENT/],
  ])('with a %s that does not exist it exits 1 at once, touching no table', async (_flag, args, message) => {
    const sluice = startSluice({ ns, args: [...args, '--node', 'node1'] });
    // It must not wait for anything (a source that never starts, a sync): killed after 20 s, it would
    // show as a signal, not as exit 1.
    const timer = setTimeout(() => sluice.signal('SIGKILL'), 20_000);
    const exit = await sluice.exited;
    clearTimeout(timer);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(sluice.otherOutput.join('\n')).toMatch(message);
    expect(await kernelListing(ns)).toEqual({});
  });

  test('cleanup removes both of sluice\'s tables and leaves other tables alone', async () => {
    writeManifest(ws.manifests, 'web.yaml', serviceYaml({ name: 'web', clusterIP: '10.96.0.10', port: 80, targetPort: 9376, backends: [{ ip: '10.244.1.11', node: 'node1' }] }));
    const sluice = startSluice({ ns, args: ['--from', ws.manifests, '--config', ws.configFile] });
    await sluice.nextSync(0, 'full');
    expect(await sluice.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await runOk('ip', ['netns', 'exec', ns, 'nft', 'add table ip other; add chain ip other c']);
    expect(Object.keys(await kernelListing(ns)).filter((k) => k.startsWith('table'))).toEqual(['table ip  other', 'table ip  sluice', 'table ip6  sluice']);
    const r = await run('ip', ['netns', 'exec', ns, nodeBinary(), SLUICE, 'cleanup']);
    expect(r.exitCode).toBe(0);
    expect(Object.keys(await kernelListing(ns))).toEqual(['chain ip other c', 'table ip  other']);
    // A second cleanup has nothing to remove, and succeeds all the same.
    const again = await run('ip', ['netns', 'exec', ns, nodeBinary(), SLUICE, 'cleanup']);
    expect(again.exitCode).toBe(0);
    expect(Object.keys(await kernelListing(ns))).toEqual(['chain ip other c', 'table ip  other']);
  });
});
