// execNft hands nft the whole script or nothing, even when sluice is killed in the middle of an apply:
// nft commits whatever it parsed once its input ends, so a script cut short by the death of the
// process writing it would be applied in part (a prefix of a transaction is often a valid one).
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeBinary } from '../../lab/scripts.ts';
import { execNft, NftError } from '../../lib/nft/runner.ts';
import { within } from './support/kernel.ts';

const CHILD = fileURLToPath(new URL('./support/apply-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-nft-apply-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An `nft` that marks `started`, waits, copies the script it was given to `got` and marks `done`. */
function recordingNft(name: string, sleepSeconds: number): { nft: string; got: string; started: string; done: string } {
  const base = join(dir, name);
  const files = { nft: `${base}.nft`, got: `${base}.got`, started: `${base}.started`, done: `${base}.done` };
  writeFileSync(files.nft, `#!/bin/sh
: > '${files.started}'
sleep ${sleepSeconds}
if [ "$1" = "-f" ] && [ "$2" != "-" ]; then cat "$2" > '${files.got}'; else cat > '${files.got}'; fi
: > '${files.done}'
`);
  chmodSync(files.nft, 0o755);
  return files;
}

describe('execNft', () => {
  test('a script larger than any pipe or socket buffer reaches nft whole though its writer is killed once nft has started', async () => {
    const f = recordingNft('killed', 1);
    const child = spawn(nodeBinary(), [CHILD, f.nft, String(4_000_000)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      await within(10_000, () => expect(existsSync(f.started)).toBe(true), 5);
      await new Promise((resolve) => setTimeout(resolve, 300)); // in the middle of handing over the script
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    expect(out).not.toContain('applied');
    await within(10_000, () => expect(existsSync(f.done)).toBe(true));
    expect(readFileSync(f.got, 'utf8').length).toBe(Number(out.trim()));
  });

  test('the script reaches nft unchanged when nothing goes wrong', async () => {
    const f = recordingNft('plain', 0);
    await execNft({ nft: f.nft }).apply('add table ip sluice\n');
    expect(readFileSync(f.got, 'utf8')).toBe('add table ip sluice\n');
  });

  test('nft\'s errors still name the lines of the script', async () => {
    const nft = join(dir, 'failing.nft');
    writeFileSync(nft, '#!/bin/sh\ncat > /dev/null\necho "/dev/stdin:2:5-9: Error: No such file or directory" >&2\nexit 1\n');
    chmodSync(nft, 0o755);
    const err = await execNft({ nft }).apply('add table ip sluice\nadd chain ip sluice x\n').catch((e) => e);
    expect(err).toBeInstanceOf(NftError);
    expect((err as NftError).lines).toEqual([{ line: 2, text: 'add chain ip sluice x', message: 'No such file or directory' }]);
  });
});
