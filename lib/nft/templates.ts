// The one place nft text is made: eta templates in templates/, compiled once per process.
import { Eta } from 'eta';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TableChange } from './diff.ts';
import type { FamilyRuleset, Ruleset } from './ir.ts';
import { fullSyncPrologue, type TableInventory } from './inventory.ts';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));

/** Elements per `add element` statement: one netlink message has a size limit (see docs/rule-shape.md). */
export const ELEMENT_CHUNK = 1000;

let eta: Eta | undefined;
let ruleTemplate: ((data: object) => string) | undefined;
function engine(): Eta {
  // autoEscape off: this is nft text, not HTML; values are validated before they get here.
  eta ??= new Eta({ views: TEMPLATES, autoEscape: false, cache: true, autoTrim: false });
  return eta;
}

/**
 * templates/rule.eta as a plain function, handed to the other templates as `it.rule`: a rule is
 * printed tens of thousands of times per ruleset, and an include looks its template up every time.
 */
function rule(): (data: object) => string {
  if (!ruleTemplate) {
    const e = engine();
    const fn = e.compile(readFileSync(join(TEMPLATES, 'rule.eta'), 'utf8'));
    ruleTemplate = (data) => fn.call(e, data);
  }
  return ruleTemplate;
}

/** Maps, sets and chains per table block: a full script is made and written a block at a time. */
const OBJECTS_PER_BLOCK = 500;

/**
 * The whole ruleset as an `nft -f` script that replaces sluice's tables atomically, in pieces: at
 * 10,000 services the script is megabytes, and it need never be in memory whole.
 */
export function* renderRulesetChunks(ruleset: Ruleset): Generator<string> {
  yield engine().render('ruleset-header', ruleset);
  for (const t of ruleset.tables) yield* renderTableChunks(t, { replace: true });
}

/**
 * One family's table as a full sync writes it, in pieces. Over a table that exists (`existing`), the
 * prologue empties what holds no state and deletes what is no longer wanted, so affinity sets keep
 * their clients; without one, the table is made. `replace` deletes the table first instead (what
 * `sluice render` prints: loading it leaves exactly this ruleset, whatever was there).
 * Per table: the skeleton (sets, base chains), then blocks of per-service maps, sets and chains (nft
 * takes several blocks of one table), then the elements of the shared sets and maps.
 */
export function* renderTableChunks(t: FamilyRuleset, how: { replace: true } | { existing?: TableInventory }): Generator<string> {
  const e = engine();
  if ('existing' in how && how.existing) yield e.render('full-sync-prologue', fullSyncPrologue(t, how.existing));
  yield e.render('table', { t, replace: 'replace' in how });
  // Counters (names) come before the chains whose rules name them.
  const counters = t.counters ?? [];
  const objects = [...t.endpointMaps, ...t.affinitySets, ...counters, ...t.chains];
  for (let i = 0; i < objects.length; i += OBJECTS_PER_BLOCK) {
    const part = new Set(objects.slice(i, i + OBJECTS_PER_BLOCK));
    yield e.render('table-objects', {
      t, rule: rule(),
      endpointMaps: t.endpointMaps.filter((m) => part.has(m)),
      affinitySets: t.affinitySets.filter((s) => part.has(s)),
      counters: counters.filter((n) => part.has(n)),
      chains: t.chains.filter((c) => part.has(c)),
    });
  }
  yield e.render('table-elements', { t, chunk: ELEMENT_CHUNK });
}

/** The whole ruleset as one string (see renderRulesetChunks). */
export function renderRuleset(ruleset: Ruleset): string {
  return [...renderRulesetChunks(ruleset)].join('');
}

/**
 * A partial transaction as an `nft -f` script: only what changed. `to` is the ruleset it leads to,
 * whose tables give the rules their family, mark and pod match.
 */
export function renderTransaction(tables: TableChange[], to: Ruleset): string {
  const tableOf = (family: string) => to.tables.find((t) => t.family === family);
  return engine().render('transaction', { tables, tableOf, chunk: ELEMENT_CHUNK, rule: rule() });
}

/** Removes sluice's tables of the given families. */
export function renderCleanup(families: ('ip' | 'ip6')[]): string {
  return engine().render('cleanup', { families });
}
