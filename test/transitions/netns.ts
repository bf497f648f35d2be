// Network namespaces made once for the whole transition test and reused: one where the SyncLoop
// writes, one where a fresh load of the same state is made for comparison. Nothing else runs in them.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lab/run.ts';
import { REAL_NFT } from '../run/support/kernel.ts';
import { normalizeListing } from '../support/nft-json.ts';

export type Listing = Record<string, any>;

export class Netns {
  readonly name: string;
  /** An `nft` that runs the real one inside this namespace: what execNft is given. */
  nftPath = '';
  private dir = '';

  constructor(name: string) {
    this.name = name;
  }

  async create(): Promise<void> {
    const r = await run('ip', ['netns', 'add', this.name]);
    if (r.exitCode !== 0) throw new Error(`ip netns add ${this.name}: ${r.stderr}`);
    this.dir = mkdtempSync(join(tmpdir(), `${this.name}-`));
    this.nftPath = join(this.dir, 'nft');
    // nsenter joins the network namespace only (ip netns exec also makes a mount namespace): cheaper.
    writeFileSync(this.nftPath, `#!/bin/sh\nexec nsenter '--net=/run/netns/${this.name}' '${REAL_NFT}' "$@"\n`);
    chmodSync(this.nftPath, 0o755);
  }

  async destroy(): Promise<void> {
    await run('ip', ['netns', 'delete', this.name]);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs nft in the namespace; throws with nft's error when it fails. */
  async nft(args: string[], input?: string): Promise<string> {
    const r = await run('nsenter', [`--net=/run/netns/${this.name}`, REAL_NFT, ...args], { input });
    if (r.exitCode !== 0) throw new Error(`nft ${args.join(' ')} in ${this.name}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Every table in the namespace (only sluice's are ever there), normalized: handles off, elements sorted. */
  async listing(): Promise<Listing> {
    return normalizeListing(await this.nft(['-j', 'list', 'ruleset']));
  }

  /** Empties the namespace's ruleset. */
  async flush(): Promise<void> {
    await this.nft(['flush', 'ruleset']);
  }
}

/** What a full script leaves in an empty namespace: loaded after `flush ruleset`, in one transaction. */
export class FreshLoader {
  private readonly ns: Netns;
  private readonly cache = new Map<string, Listing>();

  constructor(ns: Netns) {
    this.ns = ns;
  }

  async listingOf(script: string): Promise<Listing> {
    const hit = this.cache.get(script);
    if (hit) return hit;
    await this.ns.nft(['-f', '-'], `flush ruleset\n${script}`);
    const listing = await this.ns.listing();
    if (this.cache.size > 2000) this.cache.clear();
    this.cache.set(script, listing);
    return listing;
  }
}
