// The nft commands sluice uses, parsed from nft's general grammar rather than from line shapes:
// table blocks holding sets, maps, counters and chains; flat add/create/delete/flush commands; elements;
// rules. Statements end at a line end or `;` outside braces. Rules stay text, with the names they refer to.
import { lex, NftSyntaxError, type Token, type Where } from './lex.ts';

export type Verb = 'add' | 'create' | 'delete' | 'destroy' | 'flush' | 'insert';

export type { Where };

export interface Refs { sets: string[]; chains: string[]; counters: string[] }

export interface RuleText { text: string; refs: Refs; at: Where }

export interface ElementText {
  /** Key parts, as written (`10.0.0.1`, `tcp`, `80`, `10.0.0.0/8`). */
  key: string[];
  /** A map's value as written (`goto svc/x`, `10.0.0.1 . 80`); undefined for a set's element. */
  value?: string;
  /** The chain a verdict value goes to or jumps to. */
  chain?: string;
  at: Where;
}

export interface SetDef {
  /** `type ...` or `typeof ...` as written, with a map's `: value` part. */
  type: string;
  flags: string[];
  timeout?: number;
}

export interface BaseChain { type: string; hook: string; priority: string; policy?: string }

interface Obj { family: string; table: string; at: Where }
export type Command =
  | Obj & { what: 'table'; verb: Verb }
  | Obj & { what: 'chain'; verb: Verb; name: string; base?: BaseChain; rules?: RuleText[] }
  | Obj & { what: 'set'; verb: Verb; kind: 'set' | 'map'; name: string; def?: SetDef; elements?: ElementText[] }
  | Obj & { what: 'counter'; verb: Verb; name: string }
  | Obj & { what: 'element'; verb: Verb; set: string; elements: ElementText[] }
  | Obj & { what: 'rule'; verb: Verb; chain: string; rule: RuleText }
  | { what: 'ruleset'; verb: 'flush'; at: Where };

export { NftSyntaxError };

const VERBS = new Set<string>(['add', 'create', 'delete', 'destroy', 'flush', 'insert']);
const FAMILIES = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);

const whereOf = (t: Token | undefined, last?: Token): Where =>
  t ? { line: t.line, col: t.col, end: (last && last.line === t.line ? last.col + last.text.length : t.col + t.text.length) - 1 } : { line: 1, col: 1, end: 1 };

/** Statements of tokens[from, to): split at line ends and `;` outside braces. */
function statements(tokens: Token[], from: number, to: number): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  let depth = 0;
  for (let i = from; i < to; i++) {
    const t = tokens[i];
    if (depth === 0 && (t.text === '\n' || t.text === ';')) {
      if (cur.length) out.push(cur);
      cur = [];
      continue;
    }
    if (t.text === '{') depth++;
    if (t.text === '}') {
      depth--;
      if (depth < 0) throw new NftSyntaxError("syntax error, unexpected '}'", whereOf(t));
    }
    // Line ends inside braces stay: the blocks within are split into statements in turn.
    cur.push(t);
  }
  if (depth > 0) throw new NftSyntaxError('syntax error, unexpected end of file', whereOf(tokens[to - 1]));
  if (cur.length) out.push(cur);
  return out;
}

/** The tokens inside the braces that open at s[i] (which must be `{`), and the index after the closing one. */
function block(s: Token[], i: number): { inner: Token[]; next: number } {
  if (s[i]?.text !== '{') throw new NftSyntaxError(`syntax error, unexpected ${s[i]?.text ?? 'end of statement'}, expecting '{'`, whereOf(s[i] ?? s[s.length - 1]));
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    if (s[j].text === '{') depth++;
    else if (s[j].text === '}' && --depth === 0) return { inner: s.slice(i + 1, j), next: j + 1 };
  }
  throw new NftSyntaxError('syntax error, unexpected end of file', whereOf(s[s.length - 1]));
}

function refsOf(words: string[]): Refs {
  const refs: Refs = { sets: [], chains: [], counters: [] };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith('@')) refs.sets.push(w.slice(1));
    else if ((w === 'goto' || w === 'jump') && words[i + 1]) refs.chains.push(words[++i]);
    else if (w === 'counter' && words[i + 1] === 'name' && words[i + 2]) refs.counters.push(unquote(words[(i += 2)]));
  }
  return refs;
}

const unquote = (w: string) => (w.startsWith('"') ? w.slice(1, -1) : w);

function joinTokens(ts: Token[]): string {
  let s = '';
  for (const t of ts) s += t.text === ',' || t.text === ';' ? t.text : (s ? ' ' : '') + t.text;
  return s;
}

function rule(all: Token[]): RuleText {
  const ts = all.filter((t) => t.text !== '\n');
  if (!ts.length) throw new NftSyntaxError('syntax error, unexpected newline', whereOf(undefined));
  return { text: joinTokens(ts), refs: refsOf(ts.map((t) => t.text)), at: whereOf(ts[0], ts[ts.length - 1]) };
}

/** `k, k : v, k . k : goto c` inside braces. */
function elements(inner: Token[]): ElementText[] {
  const out: ElementText[] = [];
  let cur: Token[] = [];
  const flush = () => {
    if (!cur.length) return;
    const colon = cur.findIndex((t) => t.text === ':');
    let keyTokens = colon < 0 ? cur : cur.slice(0, colon);
    const stop = keyTokens.findIndex((t) => ['timeout', 'expires', 'comment', 'counter'].includes(t.text));
    if (stop >= 0) keyTokens = keyTokens.slice(0, stop);
    const key = keyTokens.filter((t) => t.text !== '.').map((t) => t.text);
    const valueTokens = colon < 0 ? [] : cur.slice(colon + 1);
    const value = colon < 0 ? undefined : joinTokens(valueTokens);
    const verdict = valueTokens[0]?.text;
    const chain = verdict === 'goto' || verdict === 'jump' ? valueTokens[1]?.text : undefined;
    out.push({ key, value, chain, at: whereOf(cur[0], cur[cur.length - 1]) });
    cur = [];
  };
  let depth = 0;
  for (const t of inner) {
    if (t.text === '{') depth++;
    if (t.text === '}') depth--;
    if (depth === 0 && t.text === ',') flush();
    else if (t.text !== '\n') cur.push(t);
  }
  flush();
  return out;
}

const DURATION: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };
/** `10800s`, `1h30m`, `600` in seconds. */
const seconds = (text: string) => [...text.matchAll(/(\d+)([dhms]?)/g)].reduce((n, m) => n + Number(m[1]) * DURATION[m[2] || 's'], 0);

function setBody(inner: Token[]): { def: SetDef; elements?: ElementText[] } {
  const def: SetDef = { type: '', flags: [] };
  let els: ElementText[] | undefined;
  for (const st of statements(inner, 0, inner.length)) {
    const head = st[0].text;
    if (head === 'type' || head === 'typeof') def.type = joinTokens(st);
    else if (head === 'flags') def.flags = st.slice(1).filter((t) => t.text !== ',').map((t) => t.text).sort();
    else if (head === 'timeout') def.timeout = seconds(st[1]?.text ?? '');
    else if (head === 'elements') {
      if (st[1]?.text !== '=') throw new NftSyntaxError("syntax error, expecting '='", whereOf(st[1] ?? st[0]));
      els = elements(block(st, 2).inner);
    } else if (!['size', 'policy', 'comment', 'counter', 'gc-interval', 'auto-merge'].includes(head)) {
      throw new NftSyntaxError(`syntax error, unexpected ${head}`, whereOf(st[0]));
    }
  }
  return { def, elements: els };
}

function chainBody(inner: Token[]): { base?: BaseChain; rules: RuleText[] } {
  let base: BaseChain | undefined;
  const rules: RuleText[] = [];
  for (const st of statements(inner, 0, inner.length)) {
    const words = st.map((t) => t.text);
    if (words[0] === 'type' && words[2] === 'hook') {
      const p = words.indexOf('priority');
      base = { type: words[1], hook: words[3], priority: p < 0 ? '' : words.slice(p + 1).join(' ') };
    } else if (words[0] === 'policy') {
      if (base) base.policy = words[1];
    } else if (words[0] !== 'comment' && words[0] !== 'devices') {
      rules.push(rule(st));
    }
  }
  return { base, rules };
}

/** `[family] table [name]`: nft's family is optional (ip). */
function names(s: Token[], i: number, count: number): { family: string; parts: string[]; next: number } {
  let family = 'ip';
  if (FAMILIES.has(s[i]?.text) && s.length > i + count) family = s[i++].text;
  const parts: string[] = [];
  for (let k = 0; k < count; k++, i++) {
    const t = s[i];
    if (!t || t.text === '{' || t.text === '}' || t.text === ',') throw new NftSyntaxError(`syntax error, unexpected ${t?.text ?? 'newline'}, expecting string`, whereOf(t ?? s[s.length - 1]));
    parts.push(unquote(t.text));
  }
  return { family, parts, next: i };
}

function command(s: Token[], out: Command[]): void {
  let i = 0;
  let verb: Verb = 'add';
  if (VERBS.has(s[0].text)) verb = s[i++].text as Verb;
  const what = s[i++]?.text;
  const at = whereOf(s[0], s[s.length - 1]);
  if (verb === 'destroy') {
    // nft 1.0.6 (this machine's) has no `destroy` yet (1.0.8 has): it is a syntax error there.
    throw new NftSyntaxError(`syntax error, unexpected ${what}, expecting string`, whereOf(s[1]));
  }
  if (what === 'ruleset' && verb === 'flush') return void out.push({ what: 'ruleset', verb, at });
  if (what === 'table') {
    const n = names(s, i, 1);
    out.push({ what: 'table', verb, family: n.family, table: n.parts[0], at });
    if (s[n.next]) {
      if (verb !== 'add' && verb !== 'create') throw new NftSyntaxError(`syntax error, unexpected '{'`, whereOf(s[n.next]));
      tableBlock(block(s, n.next).inner, n.family, n.parts[0], out);
    }
    return;
  }
  if (what === 'chain' || what === 'set' || what === 'map' || what === 'counter') {
    const n = names(s, i, 2);
    const [table, name] = n.parts;
    const body = s[n.next] ? block(s, n.next).inner : undefined;
    if (what === 'chain') out.push({ what, verb, family: n.family, table, name, ...(body ? chainBody(body) : {}), at });
    else if (what === 'counter') out.push({ what, verb, family: n.family, table, name, at });
    else {
      if (!body && (verb === 'add' || verb === 'create')) throw new NftSyntaxError(`syntax error, unexpected newline, expecting '{'`, at);
      out.push({ what: 'set', kind: what, verb, family: n.family, table, name, ...(body ? setBody(body) : {}), at });
    }
    return;
  }
  if (what === 'element') {
    const n = names(s, i, 2);
    out.push({ what, verb, family: n.family, table: n.parts[0], set: n.parts[1], elements: elements(block(s, n.next).inner), at });
    return;
  }
  if (what === 'rule' && (verb === 'add' || verb === 'insert')) {
    const n = names(s, i, 2);
    out.push({ what, verb, family: n.family, table: n.parts[0], chain: n.parts[1], rule: rule(s.slice(n.next)), at });
    return;
  }
  throw new NftSyntaxError(`syntax error, unexpected ${what ?? 'newline'}`, whereOf(s[i - 1]));
}

/**
 * What a `table F T { ... }` block holds, in the order nft sends it (found by experiment, from the
 * handles the kernel gives): chains, counters, sets and maps declared first, then the elements, then
 * the rules; so a rule or an element may name an object further down the block (not in a later block).
 */
function tableBlock(inner: Token[], family: string, table: string, out: Command[]): void {
  const chains: Command[] = [], counters: Command[] = [], sets: Command[] = [], elements: Command[] = [], rules: Command[] = [];
  for (const st of statements(inner, 0, inner.length)) {
    const what = st[0].text;
    const at = whereOf(st[0], st[st.length - 1]);
    if (what === 'flags' || what === 'comment') continue;
    const name = st[1]?.text;
    if (!['set', 'map', 'chain', 'counter'].includes(what) || !name || name === '{') throw new NftSyntaxError(`syntax error, unexpected ${what}`, at);
    const body = block(st, 2);
    if (body.next !== st.length) throw new NftSyntaxError('syntax error, expecting newline or semicolon', whereOf(st[body.next]));
    if (what === 'chain') {
      const c = chainBody(body.inner);
      chains.push({ what, verb: 'add', family, table, name, base: c.base, at });
      for (const rule of c.rules) rules.push({ what: 'rule', verb: 'add', family, table, chain: name, rule, at: rule.at });
    } else if (what === 'counter') {
      counters.push({ what, verb: 'add', family, table, name, at });
    } else {
      const b = setBody(body.inner);
      sets.push({ what: 'set', kind: what as 'set' | 'map', verb: 'add', family, table, name, def: b.def, at });
      if (b.elements) elements.push({ what: 'element', verb: 'add', family, table, set: name, elements: b.elements, at });
    }
  }
  out.push(...chains, ...counters, ...sets, ...elements, ...rules);
}

/** The commands of a script, in order; throws NftSyntaxError where nft would not parse it. */
export function parseScript(script: string): Command[] {
  const tokens = lex(script);
  const out: Command[] = [];
  for (const s of statements(tokens, 0, tokens.length)) command(s, out);
  return out;
}
