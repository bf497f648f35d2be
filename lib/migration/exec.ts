// How the migration code runs the node's tools (nft, iptables-save/-restore, ip, ipvsadm, ipset):
// one function, so tests can run them inside a network namespace of their own.
import { execa } from 'execa';

export interface ExecResult { exitCode: number; stdout: string; stderr: string }

export interface Tools {
  /** Runs a command with fixed arguments (never through a shell); `input` is its stdin. */
  run(cmd: string, args: string[], input?: string): Promise<ExecResult>;
  /** Whether the command is installed. */
  has(cmd: string): Promise<boolean>;
}

// Only these commands are ever run, so `has` can look one up with `command -v` in a shell.
const KNOWN = /^(nft|ip|ipvsadm|ipset|ip6?tables(-nft|-legacy)?-(save|restore))$/;

export function localTools(prefix: string[] = []): Tools {
  return {
    async run(cmd, args, input) {
      if (!KNOWN.test(cmd)) throw new Error(`not a tool the migration runs: ${cmd}`);
      const [file, ...rest] = [...prefix, cmd, ...args];
      const r = await execa(file, rest, { reject: false, input: input ?? '', stripFinalNewline: false });
      return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    async has(cmd) {
      if (!KNOWN.test(cmd)) return false;
      return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
    },
  };
}

/** The tools inside a network namespace (`ip netns exec NAME ...`), for tests and the lab. */
export function netnsTools(ns: string): Tools {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(ns)) throw new Error(`not a network namespace name: ${ns}`);
  return localTools(['ip', 'netns', 'exec', ns]);
}
