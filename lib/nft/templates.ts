// The one place nft text is made: eta templates in templates/, one per object kind, compiled once per
// process. Each renders an object from the object alone; an operation (lib/nft/transaction.ts) is
// its object with a verb, and a table block holds objects.
import { Eta } from 'eta';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TableChange } from './diff.ts';
import type { FamilyRuleset, Ruleset, TableFamily } from './ir.ts';
import { changeTransaction, fullSyncTransaction, type FullSyncStart } from './operations.ts';
import type { Operation, TableObject, Transaction } from './transaction.ts';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));

/** Elements per `add element` statement: one netlink message has a size limit (see docs/rule-shape.md). */
export const ELEMENT_CHUNK = 1000;
/** Maps, sets and chains per table block: a full script is made and written a block at a time. */
const OBJECTS_PER_BLOCK = 500;

type Template = (data: object) => string;
let eta: Eta | undefined;
function engine(): Eta {
  // autoEscape off: this is nft text, not HTML; values are validated before they get here.
  eta ??= new Eta({ views: TEMPLATES, autoEscape: false, cache: true, autoTrim: false });
  return eta;
}

/**
 * The object templates as plain functions, handed to the templates that hold other objects as `it.R`
 * (a table its objects, a chain its rules, a map its elements): a rule is printed tens of thousands
 * of times per ruleset, and an include looks its template up every time.
 */
interface Renderers {
  table: Template; chain: Template; set: Template; map: Template; counter: Template; rule: Template; elements: Template;
  object(o: TableObject): string;
}
let renderers: Renderers | undefined;
function R(): Renderers {
  if (renderers) return renderers;
  const e = engine();
  const compile = (name: string): Template => {
    const fn = e.compile(readFileSync(join(TEMPLATES, `${name}.eta`), 'utf8'));
    // Every caller passes a literal made for the call: adding R to it copies nothing.
    return (data) => {
      (data as { R?: Renderers }).R = renderers;
      return fn.call(e, data);
    };
  };
  const r: Renderers = {
    table: compile('table'), chain: compile('chain'), set: compile('set'), map: compile('map'),
    counter: compile('counter'), rule: compile('rule'), elements: compile('elements'),
    object(o) {
      switch (o.kind) {
        case 'set': return r.set({ s: o.set });
        case 'map': return r.map({ m: o.map });
        case 'counter': return r.counter({ family: o.family, name: o.name });
        case 'chain': return r.chain({ c: o.chain });
      }
    },
  };
  return (renderers = r);
}

function renderOperation(op: Operation): string {
  const r = R();
  switch (op.kind) {
    case 'table': return r.table({ op });
    case 'chain': return 'chain' in op ? r.chain({ verb: op.verb, family: op.family, c: op.chain }) : r.chain({ verb: op.verb, family: op.family, name: op.name });
    case 'set': return 'set' in op ? r.set({ verb: op.verb, s: op.set }) : r.set({ verb: op.verb, family: op.family, name: op.name });
    case 'map': return 'map' in op ? r.map({ verb: op.verb, m: op.map }) : r.map({ verb: op.verb, family: op.family, name: op.name });
    case 'counter': return r.counter({ verb: op.verb, family: op.family, name: op.name });
    case 'rule': return r.rule({ r: op.rule, chain: op.chain, family: op.family });
    case 'element': return r.elements({ verb: op.verb, family: op.family, set: op.set, elements: op.elements });
  }
}

/** Large operations in pieces nft takes: elements a thousand per statement, table blocks some objects at a time. */
function* pieces(op: Operation): Generator<Operation> {
  if (op.kind === 'element' && op.elements.length > ELEMENT_CHUNK) {
    for (let i = 0; i < op.elements.length; i += ELEMENT_CHUNK) yield { ...op, elements: op.elements.slice(i, i + ELEMENT_CHUNK) };
  } else if (op.kind === 'table' && op.objects && op.objects.length > OBJECTS_PER_BLOCK) {
    for (let i = 0; i < op.objects.length; i += OBJECTS_PER_BLOCK) yield { ...op, objects: op.objects.slice(i, i + OBJECTS_PER_BLOCK) };
  } else {
    yield op;
  }
}

/** A transaction as `nft -f` text, in pieces: at 10,000 services a full one is megabytes, and it need never be in memory whole. */
export function* renderTransactionChunks(tx: Transaction): Generator<string> {
  for (const op of tx.operations()) for (const p of pieces(op)) yield renderOperation(p);
}

/**
 * The whole ruleset as an `nft -f` script that replaces sluice's tables atomically (what `sluice
 * render` prints: loading it leaves exactly this ruleset, whatever was there), in pieces.
 */
export function* renderRulesetChunks(ruleset: Ruleset): Generator<string> {
  yield engine().render('ruleset-header', ruleset);
  for (const t of ruleset.tables) yield* renderTableChunks(t, { replace: true });
}

/** One family's table as a full sync writes it (operations.ts), in pieces. */
export function renderTableChunks(t: FamilyRuleset, start: FullSyncStart): Generator<string> {
  return renderTransactionChunks(fullSyncTransaction(t, start));
}

/** The whole ruleset as one string (see renderRulesetChunks). */
export function renderRuleset(ruleset: Ruleset): string {
  return [...renderRulesetChunks(ruleset)].join('');
}

/** A partial transaction as an `nft -f` script: only what changed. */
export function renderTransaction(tables: TableChange[]): string {
  return [...renderTransactionChunks(changeTransaction(tables))].join('');
}

/** Removes sluice's tables of the given families. */
export function renderCleanup(families: TableFamily[]): string {
  return engine().render('cleanup', { families });
}
