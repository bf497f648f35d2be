// A throwaway network namespace for tests that only need nft, not a whole lab.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function nftAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root' };
  for (const tool of ['nft', 'ip']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return { ok: false, reason: `${tool} is not installed` };
    }
  }
  return { ok: true };
}

export type Nft = (args: string[], input?: string) => string;

export function withNetns<T>(fn: (nft: Nft, ns: string) => T): T {
  const ns = `sltest-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const nft: Nft = (args, input) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
    return fn(nft, ns);
  } finally {
    execFileSync('ip', ['netns', 'delete', ns]);
  }
}
