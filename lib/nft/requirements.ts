// What sluice needs from the machine, checked once at start so a missing piece is named plainly
// instead of surfacing as an nft syntax error in the first sync.
import { execFile } from 'node:child_process';
import { release } from 'node:os';

/**
 * nft 1.0.1 or newer: the templates use maps declared with `typeof numgen random mod N : ip daddr . tcp dport`,
 * `dnat ip to numgen ... map @m` to an address . port pair, concatenated interval sets, `th dport`,
 * `fib daddr type local` and `update @set` on dynamic timeout sets; sluice is tested with 1.0.6.
 */
export const MIN_NFT: Version = [1, 0, 1];
/** The oldest kernel sluice's rules and transactions are tested on (Debian 11's 5.10, make test-kernels). */
export const MIN_KERNEL: Version = [5, 10, 0];

export type Version = [number, number, number];

export interface RequirementProblem {
  what: 'nft' | 'kernel' | 'nf_tables';
  message: string;
}

/** The effects checkRequirements needs, injectable for tests. */
export interface RequirementProbes {
  /** Runs a command; resolves with its output whatever its exit status, rejects when it cannot start. */
  run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  kernelRelease(): string;
}

/** "nftables v1.0.6 (Lester Gooch #5)" to [1, 0, 6]; undefined when no version is there. */
export function parseNftVersion(text: string): Version | undefined {
  const m = /\bv?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** "5.10.0-43-cloud-amd64", "6.18.44-fc-v669" to [5, 10, 0], [6, 18, 44]. */
export function parseKernelRelease(text: string): Version | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

const show = (v: Version) => v.join('.');

/**
 * A dry run (`nft -c`, nothing is committed) of the shapes sluice relies on, in the current network
 * namespace: it fails when nf_tables or one of the expressions is missing from the kernel.
 */
export const PROBE_SCRIPT = `table ip sluice-requirements {
	map eps { typeof numgen random mod 1 : ip daddr . tcp dport; }
	map dispatch { type ipv4_addr . inet_proto . inet_service : verdict; }
	set allow { type ipv4_addr . inet_proto . inet_service . ipv4_addr; flags interval; }
	set aff { type ipv4_addr; flags dynamic,timeout; timeout 10800s; }
	chain svc {
		update @aff { ip saddr }
		meta l4proto tcp dnat ip to numgen random mod 1 map @eps
	}
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr . meta l4proto . th dport vmap @dispatch
		fib daddr type local meta l4proto tcp jump svc
	}
	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		masquerade fully-random
	}
	chain filter-prerouting {
		type filter hook prerouting priority dstnat - 10; policy accept;
		ct state new ip daddr . meta l4proto . th dport . ip saddr != @allow drop
		meta l4proto tcp reject with tcp reset
	}
}
`;

const defaultProbes: RequirementProbes = {
  run: (cmd, args, input) => new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code === 'string') return reject(err); // could not start (ENOENT, EACCES)
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.on('error', () => {}); // nft may exit before reading: its exit status tells
    child.stdin?.end(input ?? '');
  }),
  kernelRelease: release,
};

/** What is missing or too old for sluice on this machine; empty when everything is there. */
export async function checkRequirements(probes: RequirementProbes = defaultProbes): Promise<RequirementProblem[]> {
  const problems: RequirementProblem[] = [];
  const kernel = probes.kernelRelease();
  const kv = parseKernelRelease(kernel);
  if (!kv) problems.push({ what: 'kernel', message: `cannot read the kernel version from "${kernel}"` });
  else if (compareVersions(kv, MIN_KERNEL) < 0) {
    problems.push({ what: 'kernel', message: `kernel ${kernel} is older than ${show(MIN_KERNEL)}: unsupported and untested (nf_tables lacks features or fixes sluice's rules need)` });
  }

  let version;
  try {
    version = await probes.run('nft', ['--version']);
  } catch (e) {
    problems.push({ what: 'nft', message: `nft cannot be run (${(e as Error).message}): install nftables ${show(MIN_NFT)} or newer` });
    return problems;
  }
  const nv = version.code === 0 ? parseNftVersion(version.stdout) : undefined;
  if (!nv) problems.push({ what: 'nft', message: `cannot read nft's version from "${(version.stdout + version.stderr).trim()}"` });
  else if (compareVersions(nv, MIN_NFT) < 0) {
    problems.push({ what: 'nft', message: `nft ${show(nv)} is older than ${show(MIN_NFT)}: it cannot parse sluice's rules (typeof maps, dnat to address . port maps)` });
  }

  const dry = await probes.run('nft', ['-c', '-f', '-'], PROBE_SCRIPT);
  if (dry.code !== 0) {
    const first = dry.stderr.split('\n').find((l) => l.includes('Error')) ?? dry.stderr.trim().split('\n')[0] ?? '';
    problems.push({ what: 'nf_tables', message: `the kernel refused a dry run of sluice's rule shapes (nf_tables or an nft_* module missing, or no CAP_NET_ADMIN): ${first.trim()}` });
  }
  return problems;
}
