// The start-up check: version parsing and comparison, and which problems it reports for which machine.
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import {
  checkRequirements, compareVersions, parseKernelRelease, parseNftVersion, type RequirementProbes, type Version,
} from '../../lib/nft/requirements.ts';

describe('version parsing', () => {
  test.each([
    ['nftables v1.0.6 (Lester Gooch #5)', [1, 0, 6]],
    ['nftables v1.0.1 (Fearless Fosdick #3)', [1, 0, 1]],
    ['nftables v0.9.8 (E.D.S.)', [0, 9, 8]],
    ['nftables v1.1 (Commodore Bullmoose)', [1, 1, 0]],
  ])('nft %s', (text, want) => expect(parseNftVersion(text)).toEqual(want));

  test.each([
    ['5.10.0-43-cloud-amd64', [5, 10, 0]],
    ['6.1.0-57-cloud-amd64', [6, 1, 0]],
    ['6.18.44-fc-v669', [6, 18, 44]],
    ['4.19', [4, 19, 0]],
  ])('kernel %s', (text, want) => expect(parseKernelRelease(text)).toEqual(want));

  test('text without a version gives none', () => {
    expect(parseNftVersion('command not found')).toBeUndefined();
    expect(parseKernelRelease('unknown')).toBeUndefined();
  });

  test('comparison is numeric, part by part', () => {
    const cmp = (a: Version, b: Version) => Math.sign(compareVersions(a, b));
    expect(cmp([1, 0, 10], [1, 0, 9])).toBe(1);
    expect(cmp([0, 9, 9], [1, 0, 1])).toBe(-1);
    expect(cmp([5, 4, 0], [5, 10, 0])).toBe(-1);
    expect(cmp([6, 1, 0], [5, 10, 0])).toBe(1);
    expect(cmp([1, 0, 1], [1, 0, 1])).toBe(0);
  });
});

/** A machine with this nft --version output, this kernel, and a dry run that passes or fails. */
function machine(o: { nft?: string | Error; kernel?: string; dryRun?: { code: number; stderr: string } }): RequirementProbes & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    kernelRelease: () => o.kernel ?? '6.1.0-57-cloud-amd64',
    async run(cmd, args) {
      calls.push([cmd, ...args]);
      if (o.nft instanceof Error) throw o.nft;
      if (args[0] === '--version') return { code: 0, stdout: `${o.nft ?? 'nftables v1.0.6 (Lester Gooch #5)'}\n`, stderr: '' };
      return { code: o.dryRun?.code ?? 0, stdout: '', stderr: o.dryRun?.stderr ?? '' };
    },
  };
}

describe('checkRequirements', () => {
  test('a supported machine has no problems, and the rule shapes were dry-run', async () => {
    const m = machine({});
    expect(await checkRequirements(m)).toEqual([]);
    expect(m.calls).toContainEqual(['nft', '-c', '-f', '-']);
  });

  test('an old nft is named with the version it needs', async () => {
    const problems = await checkRequirements(machine({ nft: 'nftables v0.9.8 (E.D.S.)' }));
    expect(problems).toHaveLength(1);
    expect(problems[0].what).toBe('nft');
    expect(problems[0].message).toMatch(/nft 0\.9\.8 is older than 1\.0\.1/);
  });

  test('an old kernel is named as unsupported', async () => {
    const problems = await checkRequirements(machine({ kernel: '5.4.0-150-generic' }));
    expect(problems.map((p) => p.what)).toEqual(['kernel']);
    expect(problems[0].message).toMatch(/5\.4\.0-150-generic is older than 5\.10\.0/);
  });

  test('no nft binary at all', async () => {
    const problems = await checkRequirements(machine({ nft: Object.assign(new Error('spawn nft ENOENT'), { code: 'ENOENT' }) }));
    expect(problems.map((p) => p.what)).toEqual(['nft']);
    expect(problems[0].message).toMatch(/cannot be run.*ENOENT/);
  });

  test('a kernel that refuses the rule shapes: nf_tables missing, with nft\'s error', async () => {
    const stderr = '/dev/stdin:1:1-30: Error: Could not process rule: Operation not supported\ntable ip sluice-requirements {\n';
    const problems = await checkRequirements(machine({ dryRun: { code: 1, stderr } }));
    expect(problems.map((p) => p.what)).toEqual(['nf_tables']);
    expect(problems[0].message).toMatch(/Operation not supported/);
  });
});

// The real machine, as root: the dry run of the rule shapes must pass on the kernel the tests run on.
const root = process.getuid?.() === 0 && (() => { try { execFileSync('sh', ['-c', 'command -v nft'], { stdio: 'ignore' }); return true; } catch { return false; } })();
(root ? test : test.skip)('this machine (as root, with nft): no problems', async () => {
  expect(await checkRequirements()).toEqual([]);
});
