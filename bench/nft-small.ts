// nft's own time for a small transaction against a large table, and what it reads to do it.
// In a fresh namespace holding sluice's full ruleset for the cluster, each variant below is applied
// with `nft -f` (and undone, untimed, before the next repetition); the time is the whole nft process.
// One more run of each under strace counts the netlink requests nft sends before its batch (the dumps
// that fill its cache: tables, chains, sets, set elements, rules, objects) and the bytes the kernel
// answers with. With --nft-alt, the same with another nft binary (Debian trixie's, bench/fetch-trixie-nft.sh).
// Usage: node bench/nft-small.ts DIR CONFIG [--reps 7] [--nft-alt PATH] [--service I]  (as root)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext, freshNamespace, type BenchContext } from './context.ts';
import { runTimed } from './proc.ts';
import { sluiceScripts } from './sluice-scripts.ts';
import { median } from './stats.ts';

export interface NetlinkUse {
  /** dump requests nft sent before its batch, by message type (NFT_MSG_GETCHAIN, ...) */
  requests: Record<string, number>;
  /** bytes the kernel sent back, by the request they answered */
  bytesByRequest: Record<string, number>;
  bytesReceived: number;
  recvCalls: number;
}

export interface VariantResult {
  name: string;
  what: string;
  lines: number;
  /** per binary: median and every repetition (ms) */
  byNft: Record<string, { medianMs: number; runsMs: number[]; netlink?: NetlinkUse; error?: string }>;
}

export interface SmallTxResult {
  services: number;
  nft: Record<string, string>;
  /** the hourly full sync's script (sluice-scripts.ts) over the table as loaded, per binary */
  fullSyncExisting: Record<string, { medianMs: number; runsMs: number[]; error?: string }>;
  variants: VariantResult[];
}

interface Variant { name: string; what: string; apply: string; undo: string }

/** strace's lines of one nft run: dump requests (sendto) and the bytes of the replies (recvmsg) after each. */
export function parseStrace(text: string): NetlinkUse {
  const use: NetlinkUse = { requests: {}, bytesByRequest: {}, bytesReceived: 0, recvCalls: 0 };
  let current = 'other';
  for (const line of text.split('\n')) {
    const body = line.replace(/^\[pid\s+\d+\]\s+/, '');
    if (/^sendto\(/.test(body)) {
      const m = /NFT_MSG_(GET[A-Z]+)/.exec(body);
      if (m) {
        current = m[1];
        use.requests[current] = (use.requests[current] ?? 0) + 1;
      }
    } else if (/^sendmsg\(/.test(body)) {
      current = 'batch';
    } else if (/^recvmsg\(/.test(body)) {
      const m = /= (\d+)$/.exec(body);
      if (m) {
        const n = Number(m[1]);
        use.bytesReceived += n;
        use.recvCalls++;
        use.bytesByRequest[current] = (use.bytesByRequest[current] ?? 0) + n;
      }
    }
  }
  return use;
}

function variants(dir: string, config: string, work: string, service: number): { vs: Variant[]; fullSync: string } {
  const s = sluiceScripts(dir, config, work, service, '10.250.200.1');
  const change = readFileSync(s.endpointChange, 'utf8');
  const back = readFileSync(s.endpointChangeBack, 'utf8');
  const chainOnly = (t: string) => t.split('\n').filter((l) => !/^(add|delete) element /.test(l)).join('\n');
  const chain = `svc/bench/svc-${service}/tcp/http`;
  const small = 'sbsmall';
  const file = (name: string, text: string) => { const f = join(work, `${name}.nft`); writeFileSync(f, text.endsWith('\n') ? text : text + '\n'); return f; };
  const v: Variant[] = [
    { name: 'sluice-endpoint-change', what: "sluice's transaction for one endpoint change (hairpin element out and in, flush chain, the chain's rules)", apply: file('change', change), undo: file('change-back', back) },
    { name: 'chain-rewrite', what: 'the same without the element lines: `flush chain` and `add rule`s', apply: file('chain', chainOnly(change)), undo: file('chain-back', chainOnly(back)) },
    { name: 'add-element', what: 'one `add element` into a named set of the big table (hairpin)', apply: file('add-el', 'add element ip sluice hairpin { 10.250.201.1 . 10.250.201.1 }'), undo: file('del-el', 'delete element ip sluice hairpin { 10.250.201.1 . 10.250.201.1 }') },
    { name: 'delete-element', what: 'one `delete element` from a named set of the big table', apply: file('del-el2', 'delete element ip sluice hairpin { 10.250.201.2 . 10.250.201.2 }'), undo: file('add-el2', 'add element ip sluice hairpin { 10.250.201.2 . 10.250.201.2 }') },
    { name: 'add-rule', what: 'one `add rule` appended to a service chain (no flush)', apply: file('add-rule', `add rule ip sluice ${chain} counter`), undo: file('chain-reset', chainOnly(back).replace(/^/, '')) },
    { name: 'flush-chain', what: 'one `flush chain` alone', apply: file('flush', `flush chain ip sluice ${chain}`), undo: file('chain-reset2', chainOnly(back)) },
    { name: 'small-table-element', what: 'one `add element` into a set of a small table of its own, next to the big table', apply: file('sm-add', `add element ip ${small} s { 10.250.202.1 . 10.250.202.1 }`), undo: file('sm-del', `delete element ip ${small} s { 10.250.202.1 . 10.250.202.1 }`) },
    { name: 'small-table-chain-rewrite', what: 'a chain rewrite (`flush chain`, 11 `add rule`) in a small table of its own', apply: file('sm-chain', [`flush chain ip ${small} c`, ...Array.from({ length: 11 }, (_, k) => `add rule ip ${small} c numgen random mod ${11 - k} == 0 meta l4proto tcp dnat ip to 10.250.203.${k + 1}:8080`)].join('\n')), undo: file('sm-chain-back', `flush chain ip ${small} c`) },
  ];
  // The small table exists before the measurements (made once, in setUp).
  file('sm-setup', `table ip ${small} {\n\tset s {\n\t\ttype ipv4_addr . ipv4_addr\n\t}\n\tchain c {\n\t}\n\tchain n {\n\t\ttype nat hook prerouting priority -101; policy accept;\n\t\tjump c\n\t}\n}`);
  file('pre-del-el2', 'add element ip sluice hairpin { 10.250.201.2 . 10.250.201.2 }');
  return { vs: v, fullSync: s.fullSyncExisting };
}

export interface SmallTxOptions { dir: string; config: string; script: string; services: number; reps: number; nfts: Record<string, string>; service?: number; fullSyncReps?: number }

export async function measureSmallTransactions(ctx: BenchContext, o: SmallTxOptions): Promise<SmallTxResult> {
  const work = join(ctx.workDir, `small-${o.services}`);
  mkdirSync(work, { recursive: true });
  const service = o.service ?? Math.floor(o.services / 2) + 1;
  const { vs, fullSync } = variants(o.dir, o.config, work, service);
  const result: SmallTxResult = { services: o.services, nft: {}, fullSyncExisting: {}, variants: [] };
  for (const v of vs) result.variants.push({ name: v.name, what: v.what, lines: readFileSync(v.apply, 'utf8').split('\n').filter((l) => l.trim() !== '').length, byNft: {} });
  // A namespace per binary, loaded by that binary: nft 1.0.6 crashes (SIGSEGV) reading back sets that
  // nft 1.1.3 wrote, so the two must not share a table.
  for (const [name, nft] of Object.entries(o.nfts)) {
    try { result.nft[name] = execFileSync(nft, ['--version'], { encoding: 'utf8' }).trim(); } catch { result.nft[name] = '?'; }
    const { ns, remove } = await freshNamespace(ctx, `small${o.services}`);
    const nftIn = (file: string) => runTimed('ip', ['netns', 'exec', ns, nft, '-f', file], { timeoutMs: 10 * 60_000 });
    const ok = async (file: string) => { const r = await nftIn(file); if (r.exitCode !== 0) throw new Error(`${nft} -f ${file}: exit ${r.exitCode}: ${r.stderr.trim().slice(0, 300)}`); };
    try {
      await ok(o.script);
      const runsMs: number[] = [];
      let error: string | undefined;
      for (let k = 0; k < (o.fullSyncReps ?? 2); k++) {
        const r = await nftIn(fullSync);
        if (r.exitCode !== 0) { error = r.stderr.trim().slice(0, 300); break; }
        runsMs.push(r.wallMs);
      }
      result.fullSyncExisting[name] = { medianMs: median(runsMs), runsMs, error };
      ctx.progress(`  full sync over the existing table with ${name}: ${error ? `failed: ${error}` : runsMs.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ')}`);
      await ok(join(work, 'sm-setup.nft'));
      await ok(join(work, 'pre-del-el2.nft'));
      for (const v of vs) {
        const r = result.variants.find((x) => x.name === v.name)!;
        const times: number[] = [];
        let err: string | undefined;
        for (let k = 0; k < o.reps && !err; k++) {
          const a = await nftIn(v.apply);
          if (a.exitCode !== 0) { err = `exit ${a.exitCode}: ${a.stderr.trim().slice(0, 300)}`; break; }
          times.push(a.wallMs);
          const u = await nftIn(v.undo);
          if (u.exitCode !== 0) { err = `undo: exit ${u.exitCode}: ${u.stderr.trim().slice(0, 300)}`; break; }
        }
        let netlink: NetlinkUse | undefined;
        if (!err) {
          const traced = await runTimed('ip', ['netns', 'exec', ns, 'strace', '-f', '-qq', '-s', '48', '-e', 'trace=sendto,sendmsg,recvmsg', nft, '-f', v.apply], { timeoutMs: 10 * 60_000 });
          if (traced.exitCode === 0) netlink = parseStrace(traced.stderr);
          await nftIn(v.undo);
        }
        r.byNft[name] = { medianMs: median(times), runsMs: times, netlink, error: err };
        const nl = netlink ? `; read ${(netlink.bytesReceived / 1024).toFixed(0)} KiB: ${Object.entries(netlink.bytesByRequest).filter(([, b]) => b >= 1024).map(([q, b]) => `${q} ${(b / 1024).toFixed(0)}`).join(', ')}` : '';
        ctx.progress(`  ${v.name} with ${name}: ${err ? `failed: ${err}` : `${median(times).toFixed(0)} ms`}${nl}`);
      }
    } finally {
      await remove();
    }
  }
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { reps: { type: 'string', default: '7' }, 'nft-alt': { type: 'string' }, service: { type: 'string' }, script: { type: 'string' }, services: { type: 'string' } } });
  const [dir, config] = positionals;
  const ctx = createContext(join(import.meta.dirname, 'out'), `sb${process.pid.toString(16).slice(-6)}`);
  const nfts: Record<string, string> = { system: 'nft' };
  if (values['nft-alt']) nfts.alt = values['nft-alt'];
  measureSmallTransactions(ctx, { dir, config, script: values.script!, services: Number(values.services), reps: Number(values.reps), nfts, service: values.service ? Number(values.service) : undefined })
    .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
}
