// Sends scripts to the kernel: `nft -f -`, one atomic transaction per call. The only code that changes
// the kernel's rules (requirements.ts only asks nft for its version and a dry run).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseInventory, type TableInventory } from './inventory.ts';
import { TABLE_ID_SET, type TableFamily } from './ir.ts';

export interface NftErrorLine { line: number; text: string; message: string }

/** nft refused a transaction; the kernel kept what it had. `lines` are the offending lines of the script. */
export class NftError extends Error {
  readonly stderr: string;
  readonly lines: NftErrorLine[];
  constructor(stderr: string, lines: NftErrorLine[]) {
    super(`nft rejected the transaction: ${lines[0]?.message ?? stderr.trim().split('\n')[0] ?? 'unknown error'}`);
    this.stderr = stderr;
    this.lines = lines;
  }
}

/** nft's errors read "/dev/stdin:LINE:COL-COL: Error: MESSAGE"; pair each with the script's line. */
export function parseNftErrors(stderr: string, script: string): NftErrorLine[] {
  const lines = script.split('\n');
  const out: NftErrorLine[] = [];
  for (const m of stderr.matchAll(/^[^\n:]*:(\d+):\d+(?:-\d+)?: Error: (.*)$/gm)) {
    const line = Number(m[1]);
    out.push({ line, text: lines[line - 1] ?? '', message: m[2] });
  }
  return out;
}

/** One of sluice's tables in the kernel; `handle` is its table id (TABLE_ID_SET), which stands for the table. */
export interface TableHandle { family: string; name: string; handle: number }

/**
 * A script: its text, or a way to make its text in pieces (a full ruleset at 10,000 services is
 * megabytes, written to nft a piece at a time and never held whole).
 */
export type Script = string | { chunks(): Iterable<string> };

export function scriptChunks(script: Script): Iterable<string> {
  return typeof script === 'string' ? [script] : script.chunks();
}

export function scriptText(script: Script): string {
  return typeof script === 'string' ? script : [...script.chunks()].join('');
}

/** The table's id: the element of its TABLE_ID_SET, which the full sync that made it chose (lib/nft/operations.ts). */
export function tableIdOf(setListing: { nftables: { set?: { elem?: unknown[] } }[] }): number | undefined {
  const elem = setListing.nftables.find((i) => i.set)?.set?.elem;
  return Array.isArray(elem) && elem.length === 1 && typeof elem[0] === 'number' ? elem[0] : undefined;
}

export interface NftRunner {
  /** Applies a script as one transaction; throws NftError when nft refuses it. */
  apply(script: Script): Promise<void>;
  /**
   * sluice's tables as the kernel has them now, each with its table id: a table deleted or made anew
   * shows here as missing or with another id.
   */
  tables(): Promise<TableHandle[]>;
  /** What sluice's table of this family holds by name (undefined: there is none); read before a full sync when sluice does not know. */
  inventory(family: TableFamily, opts?: InventoryOptions): Promise<TableInventory | undefined>;
  /** `nft -j list counters table <family> sluice` (undefined: no such table): the named counters and their counts. */
  listCounters?(family: TableFamily): Promise<string | undefined>;
}

export interface InventoryOptions {
  /**
   * Also list named counters. nft reads the whole ruleset to list them (2 s at 10,000 services even
   * when there are none, bench/counters.ts), so only when counters are on.
   */
  counters?: boolean;
}

export interface ExecNftOptions {
  /** The nft binary (default: nft on PATH). */
  nft?: string;
}

/**
 * The script in a file that has no name, open for reading from its start. nft commits whatever it
 * has parsed when its input ends, so its input must not be a pipe that sluice is still writing: if
 * sluice died half way (OOM-killed, SIGKILL), nft would see the end of a shorter script, and a
 * prefix of a transaction is often a valid transaction. A file is written whole before nft starts;
 * and with its name removed at once, nothing is left behind whenever sluice dies.
 */
async function unnamedFile(script: Script): Promise<FileHandle> {
  const path = join(tmpdir(), `sluice-${process.pid}-${randomBytes(8).toString('hex')}.nft`);
  const writer = await open(path, 'wx', 0o600);
  let reader;
  try {
    reader = await open(path, 'r');
  } finally {
    await unlink(path);
  }
  try {
    for (const chunk of scriptChunks(script)) await writer.write(chunk);
  } catch (e) {
    await reader.close();
    throw e;
  } finally {
    await writer.close();
  }
  return reader;
}

/** Runs a command with a file descriptor as its stdin; collects its stderr. */
function runWithStdin(cmd: string, args: string[], stdin: number): Promise<{ exitCode: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [stdin, 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stderr }));
  });
}

export function execNft(opts: ExecNftOptions = {}): NftRunner {
  const nft = opts.nft ?? 'nft';
  return {
    async apply(script) {
      const input = await unnamedFile(script);
      let r;
      try {
        r = await runWithStdin(nft, ['-f', '-'], input.fd);
      } finally {
        await input.close();
      }
      // The script is made again only to quote the lines nft points at.
      if (r.exitCode !== 0) throw new NftError(r.stderr, parseNftErrors(r.stderr, scriptText(script)));
    },
    async tables() {
      // `nft list tables` reads the whole ruleset into nft's cache first (4 s at 10,000 services),
      // and a table's handle is all it would add; listing one small set costs milliseconds.
      const out: TableHandle[] = [];
      for (const family of ['ip', 'ip6']) {
        const r = await execa(nft, ['-j', 'list', 'set', family, 'sluice', TABLE_ID_SET], { reject: false });
        if (r.exitCode !== 0) continue; // no such table (or a table sluice did not write): it is not there
        const id = tableIdOf(JSON.parse(String(r.stdout)));
        if (id !== undefined) out.push({ family, name: 'sluice', handle: id });
      }
      return out;
    },
    async inventory(family, opts) {
      // Chains are listed without their rules; sets and maps of the family with their elements.
      const listings: string[] = [];
      for (const what of ['chains', 'sets', 'maps', ...(opts?.counters ? ['counters'] : [])]) {
        const r = await execa(nft, ['-j', 'list', what, family], { reject: false, maxBuffer: 1 << 30 });
        if (r.exitCode !== 0) throw new Error(`nft list ${what} ${family}: ${String(r.stderr).trim()}`);
        listings.push(String(r.stdout));
      }
      return parseInventory(listings, family);
    },
    async listCounters(family) {
      const r = await execa(nft, ['-j', 'list', 'counters', 'table', family, 'sluice'], { reject: false, maxBuffer: 1 << 30 });
      if (r.exitCode !== 0) {
        if (/No such file or directory/.test(String(r.stderr))) return undefined;
        throw new Error(`nft list counters table ${family} sluice: ${String(r.stderr).trim()}`);
      }
      return String(r.stdout);
    },
  };
}
