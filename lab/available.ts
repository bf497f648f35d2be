// Whether this machine can build a lab: root, iproute2 and nftables, and namespaces allowed.
import crypto from 'node:crypto';
import { run } from './run.ts';

export type Availability = { ok: true } | { ok: false; reason: string };

export async function labAvailable(): Promise<Availability> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux, not ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the lab needs root (it creates network namespaces)' };
  for (const [cmd, args, pkg] of [['ip', ['-V'], 'iproute2'], ['nft', ['--version'], 'nftables']] as const) {
    const r = await run(cmd, [...args]).catch((err: Error) => ({ exitCode: -1, stderr: err.message }));
    if (r.exitCode !== 0) return { ok: false, reason: `${cmd} does not run (install ${pkg}): ${r.stderr.trim()}` };
  }
  // Root in a container may still be refused namespaces: try one.
  const ns = `slcheck${crypto.randomBytes(3).toString('hex')}-ns`;
  const add = await run('ip', ['netns', 'add', ns]);
  await run('ip', ['netns', 'del', ns]);
  if (add.exitCode !== 0) return { ok: false, reason: `cannot create a network namespace: ${add.stderr.trim()}` };
  return { ok: true };
}
