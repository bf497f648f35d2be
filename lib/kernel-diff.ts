// `sluice diff`: the transaction a sync would send now, against the tables in the kernel, applying
// nothing. The kernel's tables are read as JSON into the ruleset's own objects (sets, maps and their
// elements; chains and their rules, lib/nft/read-rule.ts), so that the difference is computed by the
// same diff the sync loop uses.
import { execa } from 'execa';
import type { ProxyConfig } from './config/kube-proxy-config.ts';
import type { Logger } from './log.ts';
import { loadStore } from './inspect/load-store.ts';
import { diffRulesets } from './nft/diff.ts';
import { readRule } from './nft/read-rule.ts';
import { sameValue } from './objects/same.ts';
import { SKELETON_CHAINS, skeletonOf } from './nft/skeleton.ts';
import { TABLE_ID_SET, type Chain, type Element, type FamilyRuleset, type Rule, type Ruleset } from './nft/ir.ts';
import { renderRuleset, renderTransaction } from './nft/templates.ts';
import { planFromStore, reportModel } from './render.ts';

/** Runs nft with these arguments (and input), returning its output; throws when nft fails. */
export type NftExec = (args: string[], input?: string) => Promise<string>;

export const hostNft: NftExec = async (args, input) => String((await execa('nft', args, { input, maxBuffer: 1 << 30 })).stdout);

type Json = any;
const BASE_CHAINS: ReadonlySet<string> = new Set(SKELETON_CHAINS);
// Marks a kernel chain whose rules differ from the wanted ones; only ever compared, never printed.
const DIFFERS: Rule[] = [{ op: 'kernel rules differ' } as unknown as Rule];

interface Listing { sets: Map<string, Json>; chains: Map<string, Json>; rules: Map<string, Json[][]> }

function listing(json: string, family: string): Listing {
  const sets = new Map<string, Json>(), chains = new Map<string, Json>(), rules = new Map<string, Json[][]>();
  for (const item of (JSON.parse(json) as { nftables: Json[] }).nftables) {
    const [kind, body] = Object.entries(item)[0] as [string, Json];
    if (body.family !== family || body.table !== 'sluice') continue;
    if (kind === 'set' || kind === 'map') sets.set(body.name, { kind, ...body });
    else if (kind === 'chain') chains.set(body.name, body);
    else if (kind === 'rule') (rules.get(body.chain) ?? rules.set(body.chain, []).get(body.chain)!).push(body.expr);
  }
  return { sets, chains, rules };
}

/** A chain's rules as the kernel has them, read into Rule ops; undefined when one is not a rule sluice writes. */
function kernelRules(kernel: Listing, chain: string, family: FamilyRuleset['family']): Rule[] | undefined {
  const out: Rule[] = [];
  for (const expr of kernel.rules.get(chain) ?? []) {
    const r = readRule(expr, family);
    if (!r) return undefined;
    out.push(r);
  }
  return out;
}

/** nft's priority names for the ip and ip6 families, as the kernel lists them: numbers. */
const PRIORITY_NAMES: Record<string, number> = { dstnat: -100, srcnat: 100, filter: 0 };
function priorityNumber(text: string): number {
  const m = /^(\w+|-?\d+)(?: ([+-]) (\d+))?$/.exec(text)!;
  const base = m[1] in PRIORITY_NAMES ? PRIORITY_NAMES[m[1]] : Number(m[1]);
  return m[2] ? base + (m[2] === '+' ? 1 : -1) * Number(m[3]) : base;
}

function part(v: Json): string | number | undefined {
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (v && typeof v === 'object' && v.prefix) return `${v.prefix.addr}/${v.prefix.len}`;
  return undefined;
}

function parts(v: Json): (string | number)[] | undefined {
  const list = v && typeof v === 'object' && Array.isArray(v.concat) ? v.concat : [v];
  const out = list.map(part);
  return out.every((p: unknown) => p !== undefined) ? out : undefined;
}

/** One element of a set or map as nft lists it, in the ruleset's terms; undefined when it has a shape sluice never writes. */
function element(e: Json, isMap: boolean): Element | undefined {
  if (isMap) {
    const [k, v] = e as [Json, Json];
    const key = parts(k?.elem?.val ?? k);
    if (!key) return undefined;
    if (v && typeof v === 'object' && v.goto) return { key, goto: v.goto.target };
    const value = parts(v);
    return value ? { key, value } : undefined;
  }
  const key = parts(e?.elem?.val ?? e);
  return key ? { key } : undefined;
}

function elementsOf(set: Json | undefined, isMap: boolean): Element[] | undefined {
  const out: Element[] = [];
  for (const e of set?.elem ?? []) {
    const el = element(e, isMap);
    if (!el) return undefined;
    out.push(el);
  }
  return out;
}

// The order the plan defines chains in (lib/plan/plan.ts): a chain after every chain it goes to.
const chainOrder = (name: string) => (name.startsWith('ep/') ? 0 : name.startsWith('svc/') || name.startsWith('all/') ? 1 : 2);

/** The kernel's table in the ruleset's terms, or why it cannot be: then only a full replace will do. */
function kernelTable(kernel: Listing, want: FamilyRuleset): FamilyRuleset | string {
  for (const c of skeletonOf(want.family, want.mark).chains) {
    const k = kernel.chains.get(c.name);
    const hook = c.hook && { type: c.hook.type, hook: c.hook.hook, prio: priorityNumber(c.hook.priority), policy: 'accept' };
    const kHook = k && k.hook && { type: k.type, hook: k.hook, prio: k.prio, policy: k.policy };
    if (!k || !sameValue(hook, kHook) || !sameValue(kernelRules(kernel, c.name, want.family), c.rules)) return `base chain ${c.name} differs`;
  }
  const elements = {} as FamilyRuleset['elements'];
  const ADDR = want.family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const TYPES = { address: ADDR, proto: 'inet_proto', port: 'inet_service', number: 'mark' };
  for (const shared of skeletonOf(want.family, want.mark).sets) {
    const s = shared.name;
    const k = kernel.sets.get(s);
    const type = shared.key.length === 1 ? TYPES[shared.key[0]] : shared.key.map((p) => TYPES[p]);
    if (!k || k.kind !== (shared.verdicts ? 'map' : 'set') || !sameValue(k.type, type) || (shared.verdicts && k.map !== 'verdict')
      || !sameValue(k.flags, shared.interval ? ['interval'] : undefined)) return `set ${s} differs`;
    if (s === TABLE_ID_SET) continue; // which sync made the table: never part of what is wanted
    const els = elementsOf(k, k.kind === 'map');
    if (!els) return `set ${s} holds elements sluice does not write`;
    elements[s] = els;
  }
  const endpointMaps: FamilyRuleset['endpointMaps'] = [];
  const affinitySets: FamilyRuleset['affinitySets'] = [];
  for (const [name, s] of kernel.sets) {
    if (['eps/', 'epl/', 'mgc/', 'mgl/'].some((kind) => name.startsWith(kind))) {
      const els = elementsOf(s, true);
      if (!els) return `map ${name} holds elements sluice does not write`;
      // Names are <kind>/<namespace>/<service>/<protocol>/<port> (lib/plan/names.ts): the protocol is the fourth part.
      const proto = name.split('/')[3];
      if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') return `map ${name} is not one sluice names`;
      endpointMaps.push({ family: want.family, name, proto, elements: els });
    } else if (name.startsWith('aff/')) {
      affinitySets.push({ family: want.family, name, timeout: Number(s.timeout) });
    }
  }
  const wantedChains = new Map(want.chains.map((c) => [c.name, c]));
  const chains: Chain[] = [];
  for (const name of [...kernel.chains.keys()].filter((n) => !BASE_CHAINS.has(n)).sort((a, b) => chainOrder(a) - chainOrder(b))) {
    const rules = kernelRules(kernel, name, want.family);
    const wanted = wantedChains.get(name);
    // Equal rules become the wanted chain's own, so the diff finds them unchanged whatever their keys' order.
    chains.push({ name, rules: !rules ? DIFFERS : wanted && sameValue(rules, wanted.rules) ? wanted.rules : rules });
  }
  // What the kernel holds has no parts of its own: it is compared with the wanted table as a whole.
  return { family: want.family, mark: want.mark, podSource: want.podSource, elements, endpointMaps, affinitySets, counters: want.counters, chains };
}

export interface KernelDiffOptions {
  config: ProxyConfig;
  nodeName: string;
  log: Logger;
  from?: string;
  kubeconfig?: string;
  /** nft on the node (default: the host's nft). */
  kernel?: NftExec;
}

/** The wanted ruleset and the script that would take the kernel there: a partial transaction, the full script, or ''. */
export async function kernelDiff(ruleset: Ruleset, kernel: NftExec): Promise<{ kind: 'full' | 'partial'; reason?: string; script: string }> {
  const full = (reason: string) => ({ kind: 'full' as const, reason, script: renderRuleset(ruleset) });
  const kernelJson = await kernel(['-j', 'list', 'ruleset']);
  const tables: FamilyRuleset[] = [];
  for (const want of ruleset.tables) {
    const k = listing(kernelJson, want.family);
    if (k.chains.size === 0 && k.sets.size === 0) return full(`no ${want.family} sluice table in the kernel`);
    const t = kernelTable(k, want);
    if (typeof t === 'string') return full(t);
    tables.push(t);
  }
  const tx = diffRulesets({ node: ruleset.node, tables }, ruleset);
  if (tx.kind === 'full') return full(tx.reason);
  return { kind: 'partial', script: tx.tables.length ? renderTransaction(tx.tables) : '' };
}

export async function diffAgainstKernel(o: KernelDiffOptions): Promise<string> {
  const store = await loadStore(o);
  const { model, ruleset } = planFromStore(store, o.config, o.nodeName);
  reportModel(model, o.config, o.log);
  const r = await kernelDiff(ruleset, o.kernel ?? hostNft);
  o.log.info(r.kind === 'full' ? `a sync would replace the tables: ${r.reason}` : r.script ? 'a sync would send this transaction' : 'nothing to change');
  return r.script;
}
