// An NftRunner for tests that holds state: each script is parsed, applied to in-memory tables, and
// refused, wholly, where the kernel would refuse it (apply.ts), with the NftError the real runner throws.
import type { TableInventory } from '../../../lib/nft/inventory.ts';
import type { TableFamily } from '../../../lib/nft/ir.ts';
import { TABLE_ID_SET } from '../../../lib/nft/ir.ts';
import { NftError, parseNftErrors, scriptText, type InventoryOptions, type NftRunner, type Script, type TableHandle } from '../../../lib/nft/runner.ts';
import { applyCommands, Refusal } from './apply.ts';
import { NftSyntaxError, parseScript } from './parse.ts';
import { NftState, summarize, type StateSummary } from './state.ts';

/** stderr as nft writes it: where, what, the line, and carets under the part it blames. */
function stderrOf(script: string, message: string, at: { line: number; col: number; end: number }): string {
  const text = script.split('\n')[at.line - 1] ?? '';
  const end = Math.max(at.col, at.end);
  return `/dev/stdin:${at.line}:${at.col}-${end}: Error: ${message}\n${text}\n${' '.repeat(at.col - 1)}${'^'.repeat(end - at.col + 1)}\n`;
}

/** Applies a script to a state: the state after it, or an NftError as nft would give (the state unchanged). */
export function applyScript(state: NftState, script: string): NftState {
  try {
    return applyCommands(state, parseScript(script));
  } catch (e) {
    if (!(e instanceof Refusal) && !(e instanceof NftSyntaxError)) throw e;
    const stderr = stderrOf(script, e.message, e.at);
    throw new NftError(stderr, parseNftErrors(stderr, script));
  }
}

export class FakeNft implements NftRunner {
  /** Every fake made, for a test file's afterEach to check (and empty). */
  static readonly made: FakeNft[] = [];
  /** The scripts accepted, in order. */
  readonly scripts: string[] = [];
  /** Scripts the fake refused as the kernel would (not the injected failures). */
  readonly refused: { script: string; error: NftError }[] = [];
  /** Failures to inject: the next apply throws this stderr as nft's, changing nothing. */
  failures: string[] = [];
  private state = new NftState();

  constructor() {
    FakeNft.made.push(this);
  }

  async apply(given: Script): Promise<void> {
    const text = scriptText(given);
    const failure = this.failures.shift();
    if (failure !== undefined) throw new NftError(failure, parseNftErrors(failure, text));
    try {
      this.state = applyScript(this.state, text);
    } catch (e) {
      if (e instanceof NftError) this.refused.push({ script: text, error: e });
      throw e;
    }
    this.scripts.push(text);
  }

  /** What someone else does to the kernel (deletes a table, makes one anew): applied, not recorded. */
  outside(script: string): void {
    this.state = applyScript(this.state, script);
  }

  /** As the real runner: the table id (the one element of its TABLE_ID_SET), for each family that has one. */
  async tables(): Promise<TableHandle[]> {
    const out: TableHandle[] = [];
    for (const family of ['ip', 'ip6']) {
      const ids = [...(this.state.table(family, 'sluice')?.sets.get(TABLE_ID_SET)?.elements.keys() ?? [])];
      if (ids.length === 1) out.push({ family, name: 'sluice', handle: Number(ids[0]) });
    }
    return out;
  }

  /** As parseInventory reads nft's listings: undefined when the table holds nothing; counters only when asked. */
  async inventory(family: TableFamily, opts?: InventoryOptions): Promise<TableInventory | undefined> {
    const t = this.state.table(family, 'sluice');
    if (!t || t.chains.size + t.sets.size + (opts?.counters ? t.counters.size : 0) === 0) return undefined;
    const sets = new Map<string, number | undefined>(), maps = new Set<string>();
    for (const [name, s] of t.sets) if (s.kind === 'map') maps.add(name); else sets.set(name, s.def.timeout);
    return { chains: new Set(t.chains.keys()), maps, sets, counters: new Set(opts?.counters ? t.counters.keys() : []) };
  }

  async listCounters(family: TableFamily): Promise<string | undefined> {
    const t = this.state.table(family, 'sluice');
    if (!t) return undefined;
    const counters = [...t.counters].map(([name, c]) => ({ counter: { family, name, table: 'sluice', handle: c.handle, packets: 0, bytes: 0 } }));
    return JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6', json_schema_version: 1 } }, ...counters] });
  }

  /** The state, as the comparison with the kernel sees it (state.ts). */
  summary(): StateSummary {
    return summarize(this.state);
  }
}
