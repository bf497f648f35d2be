// What the kernel holds: sluice's tables as nft lists them, normalized (test/support/nft-json.ts), and
// what a script leaves when loaded into an empty namespace, to compare the two.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../lab/run.ts';
import { withNetns } from '../../support/netns.ts';
import { normalizeListing } from '../../support/nft-json.ts';

export type Listing = Record<string, unknown>;

/** The real nft binary, found before any test puts a wrapper first on a PATH. */
export const REAL_NFT = execFileSync('sh', ['-c', 'command -v nft || echo /usr/sbin/nft'], { encoding: 'utf8' }).trim();
export const REAL_CONNTRACK = execFileSync('sh', ['-c', 'command -v conntrack || echo /usr/sbin/conntrack'], { encoding: 'utf8' }).trim();

/** Every table in the namespace, normalized; {} when there are none. */
export async function kernelListing(ns: string): Promise<Listing> {
  const r = await run('ip', ['netns', 'exec', ns, REAL_NFT, '-j', 'list', 'ruleset']);
  if (r.exitCode !== 0) throw new Error(`nft list ruleset in ${ns}: ${r.stderr}`);
  return normalizeListing(r.stdout);
}

/** What loading `script` into an empty namespace leaves, normalized. */
export function listingOf(script: string): Listing {
  return withNetns((nft) => {
    nft(['-f', '-'], script);
    return normalizeListing(nft(['-j', 'list', 'ruleset']));
  });
}

/** Polls until check() passes; returns how long that took. Rethrows the last failure after timeoutMs. */
export async function within(timeoutMs: number, check: () => Promise<void> | void, intervalMs = 20): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await check();
      return Date.now() - start;
    } catch (e) {
      if (Date.now() - start > timeoutMs) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A folder with an `nft` that stands in for the real one, first on sluice's PATH. By default it just
 * runs the real nft; a file in its control folder changes the next `nft -f` call:
 *   fail-next   the call fails as nft does when it refuses a transaction (the kernel is not touched);
 *   sleep-next  the call first marks `sleeping`, sleeps for the seconds the file holds, runs the real
 *               nft and writes its exit code to `applied`.
 */
export function nftWrapper(dir: string): { bin: string; control: string } {
  const bin = join(dir, 'bin');
  const control = join(dir, 'control');
  mkdirSync(bin, { recursive: true });
  mkdirSync(control, { recursive: true });
  const script = `#!/bin/sh
C='${control}'
if [ "$1" = "-f" ]; then
  if [ -e "$C/fail-next" ]; then
    rm -f "$C/fail-next"
    echo "/dev/stdin:1:1-3: Error: Could not process rule: injected failure" >&2
    exit 1
  fi
  if [ -e "$C/sleep-next" ]; then
    seconds=$(cat "$C/sleep-next")
    rm -f "$C/sleep-next"
    : > "$C/sleeping"
    sleep "$seconds"
    '${REAL_NFT}' "$@"
    rc=$?
    echo $rc > "$C/applied"
    exit $rc
  fi
fi
exec '${REAL_NFT}' "$@"
`;
  writeFileSync(join(bin, 'nft'), script);
  chmodSync(join(bin, 'nft'), 0o755);
  return { bin, control };
}

/** A folder with `nft` and `conntrack` that run the real ones inside network namespace `ns`. */
export function namespacedTools(dir: string, ns: string): { nft: string; conntrack: string } {
  mkdirSync(dir, { recursive: true });
  const tool = (name: string, real: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\nexec ip netns exec '${ns}' '${real}' "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  };
  return { nft: tool('nft', REAL_NFT), conntrack: tool('conntrack', REAL_CONNTRACK) };
}
