// The ruleset kept up to date from sync to sync: a model updated for a few services (its `change`,
// lib/model/live-model.ts) is planned by planning those services' ports again and keeping every other
// part as it was, without looking at it. The table says what changed (its `delta`), so the diff
// against the table it was planned from looks at nothing else. Anything else is planned whole.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import type { ProxyModel } from '../model/types.ts';
import type { Element, FamilyRuleset, Ruleset, TableDelta, TablePart } from '../nft/ir.ts';
import { LayeredMap } from './layered-map.ts';
import {
  clusterIPElement, contributionOf, defineAggregates, hairpinElement, lazy, partKey, planFamily, planPart, type PlannedFamily,
} from './plan.ts';

export class LivePlan {
  private last?: { model: ProxyModel; config: ProxyConfig; ruleset: Ruleset; families: PlannedFamily[] };

  plan(model: ProxyModel, config: ProxyConfig): Ruleset {
    const last = this.last;
    if (last && last.model === model && last.config === config) return last.ruleset;
    const families = last && last.config === config && model.change && model.change.base.deref() === last.model
      ? last.families.map((f) => replanFamily(f, model, config))
      : ([4, 6] as const).map((f) => planFamily(model, config, f));
    const ruleset = { node: model.node.name, tables: families.map((f) => f.table) };
    this.last = { model, config, ruleset, families };
    return ruleset;
  }
}

/** `last` with the parts of the model's changed service ports planned again. */
function replanFamily(last: PlannedFamily, model: ProxyModel, config: ProxyConfig): PlannedFamily {
  const { removed, added } = model.change!;
  const before = last.table.parts!;
  const parts = new Map<string, { before?: TablePart; after?: TablePart }>();
  for (const sp of removed) {
    if (sp.family !== last.family) continue;
    const key = partKey(sp);
    if (!parts.has(key)) parts.set(key, { before: before.get(key) });
  }
  for (const sp of added) {
    if (sp.family !== last.family) continue;
    const key = partKey(sp);
    const entry = parts.get(key) ?? { before: before.get(key) };
    entry.after = planPart(sp, last.ctx, last.ctxKey, config);
    parts.set(key, entry);
  }

  // The shared sets gain an address when the first part holds it, and lose it with the last.
  const { shared } = last;
  const touched = { 'cluster-ips': new Map<string, boolean>(), hairpin: new Map<string, boolean>() };
  const touch = (c: { clusterIP: string; hairpin: readonly string[] }) => {
    if (!touched['cluster-ips'].has(c.clusterIP)) touched['cluster-ips'].set(c.clusterIP, shared.has('cluster-ips', c.clusterIP));
    for (const a of c.hairpin) if (!touched.hairpin.has(a)) touched.hairpin.set(a, shared.has('hairpin', a));
  };
  for (const { before: b, after: a } of parts.values()) {
    if (b === a) continue;
    if (b) { touch(contributionOf(b)); shared.remove(contributionOf(b)); }
    if (a) { touch(contributionOf(a)); shared.add(contributionOf(a)); }
  }
  const ownRemoved: TableDelta['ownRemoved'] = {}, ownAdded: TableDelta['ownAdded'] = {};
  for (const [set, element] of [['cluster-ips', clusterIPElement], ['hairpin', hairpinElement]] as const) {
    const gone: Element[] = [], come: Element[] = [];
    for (const [address, was] of touched[set]) {
      const is = shared.has(set, address);
      if (was && !is) gone.push(element(address));
      if (!was && is) come.push(element(address));
    }
    if (gone.length) ownRemoved[set] = gone;
    if (come.length) ownAdded[set] = come;
  }

  const table = {
    family: last.table.family, mark: last.table.mark, podSource: last.table.podSource,
    parts: LayeredMap.of(before).with([...parts].map(([k, p]) => [k, p.after])),
    delta: { base: new WeakRef(last.table), parts, ownRemoved, ownAdded },
  } as unknown as FamilyRuleset;
  // Read in the model's order, as a table planned whole is: a full sync writes the same script.
  const ordered = () => {
    const all = table.parts!;
    return model.servicePorts.filter((sp) => sp.family === last.family).map((sp) => all.get(partKey(sp))!);
  };
  // The whole of the shared sets only when read (a full sync).
  lazy(table, 'ownElements', () => {
    const clusterIPs = new Set<string>(), hairpin = new Set<string>();
    for (const p of ordered()) {
      const c = contributionOf(p);
      clusterIPs.add(c.clusterIP);
      for (const a of c.hairpin) hairpin.add(a);
    }
    return { ...last.fixed, 'cluster-ips': [...clusterIPs].map(clusterIPElement), hairpin: [...hairpin].map(hairpinElement) };
  });
  defineAggregates(table, ordered);
  return { ...last, table };
}
