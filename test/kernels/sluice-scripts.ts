// The ONE place the kernel tests reach into sluice's internals: manifest objects in, nft scripts out.
// lib/nft and lib/plan are being reshaped; when their names change, only this function changes.
import { parseConfig } from '../../lib/config/kube-proxy-config.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { buildModel } from '../../lib/model/build.ts';
import { diffRulesets } from '../../lib/nft/diff.ts';
import { renderRuleset, renderTransaction } from '../../lib/nft/templates.ts';
import { planRuleset } from '../../lib/plan/plan.ts';

export interface TransitionScripts {
  /** The whole script for the objects before, as a first sync would load it. */
  from: string;
  /** The partial transaction a sync sends to go from `from` to `to`. */
  transaction: string;
  /** The whole script for the objects after. */
  to: string;
}

/**
 * What sluice sends for one change: both states planned with one KubeProxyConfiguration document,
 * diffed, and the difference rendered as the partial transaction sync-loop.ts would apply.
 * Throws when sluice would replace the tables instead: then there is no partial transaction to test.
 */
export function transitionScripts(from: object[], to: object[], configDoc: object, node: string): TransitionScripts {
  const config = parseConfig(configDoc, (w) => { throw new Error(`configuration: ${w}`); });
  const plan = (objects: object[]) => {
    const of = (kind: string) => (objects as KubeObject[]).filter((o) => o.kind === kind);
    const model = buildModel({ services: of('Service'), endpointSlices: of('EndpointSlice'), endpoints: of('Endpoints'), nodes: of('Node') }, node);
    // A skipped object would make the case test less than it says.
    if (model.problems.length) throw new Error(`objects skipped: ${model.problems.map((p) => `${p.object}: ${p.message}`).join('; ')}`);
    return planRuleset(model, config);
  };
  const before = plan(from), after = plan(to);
  const tx = diffRulesets(before, after);
  if (tx.kind !== 'partial') throw new Error(`sluice would replace the tables, not send a partial transaction: ${tx.reason}`);
  return { from: renderRuleset(before), transaction: renderTransaction(tx.tables), to: renderRuleset(after) };
}
