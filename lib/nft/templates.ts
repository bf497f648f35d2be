// The one place nft text is made: eta templates in templates/, compiled once per process.
import { Eta } from 'eta';
import { fileURLToPath } from 'node:url';
import type { Ruleset } from './ir.ts';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));

/** Elements per `add element` statement: one netlink message has a size limit (see docs/rule-shape.md). */
export const ELEMENT_CHUNK = 1000;

let eta: Eta | undefined;
function engine(): Eta {
  // autoEscape off: this is nft text, not HTML; values are validated before they get here.
  eta ??= new Eta({ views: TEMPLATES, autoEscape: false, cache: true, autoTrim: false });
  return eta;
}

/** The whole ruleset as one `nft -f` script that replaces sluice's tables atomically. */
export function renderRuleset(ruleset: Ruleset): string {
  return engine().render('ruleset', { ...ruleset, chunk: ELEMENT_CHUNK });
}

export function renderTemplate(name: string, data: object): string {
  return engine().render(name, data);
}
