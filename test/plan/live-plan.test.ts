// The model and ruleset kept up to date from the store's changes (LiveModel, LivePlan) against the
// ones built from all objects, after every step of random sequences (the transition test's, without
// a kernel): the same service ports and problems, the same whole ruleset as rendered, the same
// metrics counts, and a diff from the table's delta that equals the diff of the whole tables.
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { buildModel } from '../../lib/model/build.ts';
import { LiveModel } from '../../lib/model/live-model.ts';
import type { ProxyModel } from '../../lib/model/types.ts';
import { diffTable, type TableChange } from '../../lib/nft/diff.ts';
import type { FamilyRuleset } from '../../lib/nft/ir.ts';
import { renderRuleset } from '../../lib/nft/templates.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { ObjectStore } from '../../lib/objects/store.ts';
import { LivePlan } from '../../lib/plan/live-plan.ts';
import { planRuleset } from '../../lib/plan/plan.ts';
import { ProgrammedTally } from '../../lib/sync/programmed.ts';
import { arbitraries } from '../transitions/arbitraries.ts';
import { applyChange, NODE, objectsOf, type ClusterState } from '../transitions/cluster.ts';
import { configOf } from '../transitions/sequence.ts';

const problemTexts = (m: ProxyModel) => m.problems.map((p) => JSON.stringify(p)).sort();

/** A change as text with its lists sorted: the order of statements within one transaction is free. */
function changeText(c: TableChange): string {
  const els = (l: TableChange['elementsAdded']) => l.flatMap((x) => x.elements.map((e) => `${x.set} ${JSON.stringify(e)}`)).sort();
  return JSON.stringify({
    elementsRemoved: els(c.elementsRemoved), elementsAdded: els(c.elementsAdded),
    chainsWritten: c.chainsWritten.map((w) => JSON.stringify(w)).sort(), chainsRemoved: [...c.chainsRemoved].sort(),
    mapsRemoved: [...c.mapsRemoved].sort(), setsRemoved: [...c.setsRemoved].sort(), countersRemoved: [...c.countersRemoved].sort(),
    mapsAdded: c.mapsAdded.map((m) => JSON.stringify(m)).sort(), setsAdded: c.setsAdded.map((s) => JSON.stringify(s)).sort(), countersAdded: [...c.countersAdded].sort(),
  });
}

/** The same table as planned, without the delta: diffTable then compares its parts whole. */
const withoutDelta = (t: FamilyRuleset): FamilyRuleset => ({ ...t, delta: undefined });

class Follower {
  readonly store = new ObjectStore();
  private objects = new Map<string, KubeObject>();
  private readonly live: LiveModel;
  private readonly plan = new LivePlan();
  private readonly tally = new ProgrammedTally(NODE);
  private applied?: FamilyRuleset[];
  partialUpdates = 0;
  readonly config: ReturnType<typeof configOf>;

  constructor(config: ReturnType<typeof configOf>) {
    this.config = config;
    this.live = new LiveModel(NODE, { configServiceCIDRs: config.serviceCIDRs, serviceProxyName: config.serviceProxyName });
  }

  set(now: Map<string, KubeObject>) {
    for (const [key, o] of this.objects) if (!now.has(key)) this.store.remove(o.kind, key.slice(key.indexOf(' ') + 1));
    for (const [key, o] of now) if (JSON.stringify(this.objects.get(key)) !== JSON.stringify(o)) this.store.upsert(o);
    this.objects = now;
  }

  /** One sync's model and plan, checked against a build from all objects. */
  check() {
    const model = this.live.update(this.store, this.store.takeChanges());
    if (model.change) this.partialUpdates++;
    const fresh = buildModel(this.store.objects(), NODE, { configServiceCIDRs: this.config.serviceCIDRs, serviceProxyName: this.config.serviceProxyName });
    expect(model.servicePorts).toEqual(fresh.servicePorts);
    expect(problemTexts(model)).toEqual(problemTexts(fresh));
    expect(model.node).toEqual(fresh.node);

    const ruleset = this.plan.plan(model, this.config);
    const freshRuleset = planRuleset(fresh, this.config);
    expect(renderRuleset(ruleset)).toBe(renderRuleset(freshRuleset));

    if (this.applied) {
      for (const [i, t] of ruleset.tables.entries()) {
        expect(changeText(diffTable(this.applied[i], t))).toBe(changeText(diffTable(this.applied[i], withoutDelta(t))));
      }
    }
    this.applied = ruleset.tables;

    const counts = this.tally.count(model);
    const freshCounts = new ProgrammedTally(NODE).count(fresh);
    expect({ ...counts, topologies: [...counts.topologies], topologyChanged: 0 }).toEqual({ ...freshCounts, topologies: [...freshCounts.topologies], topologyChanged: 0 });
  }
}

describe('LiveModel and LivePlan follow the store', () => {
  test('random sequences: every step equals a build from all objects', () => {
    let partial = 0;
    fc.assert(fc.property(arbitraries(new Set()).sequence(8), (seq) => {
      let state: ClusterState = seq.initial;
      let f = new Follower(configOf(seq.config));
      f.set(objectsOf(state));
      f.check();
      for (const step of seq.steps) {
        if ('config' in step) {
          // A restart: new model and plan over the same objects.
          const next = new Follower(configOf(step.config));
          next.set(objectsOf(state));
          f = next;
        } else if ('changes' in step) {
          for (const c of step.changes) state = applyChange(state, c);
          f.set(objectsOf(state));
        }
        f.check();
      }
      partial += f.partialUpdates;
    }), { numRuns: 150, seed: 20261201 });
    // The sequences did take the incremental path, not only full builds.
    expect(partial).toBeGreaterThan(100);
  });

  test('a slice that moves to another service, an invalid slice and a conflict are followed', () => {
    const svc = (name: string, ip: string, created: string): KubeObject => ({
      kind: 'Service', metadata: { name, namespace: 'ns', creationTimestamp: created },
      spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    const slice = (name: string, service: unknown, address: string): KubeObject => ({
      kind: 'EndpointSlice', metadata: { name, namespace: 'ns', labels: { 'kubernetes.io/service-name': service } }, addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: [address], conditions: { ready: true }, nodeName: NODE }],
    });
    const f = new Follower(configOf({ masqueradeAll: false, detectLocalMode: 'ClusterCIDR', clusterCIDR: 2, nodePortAddresses: 0 }));
    const objects = new Map<string, KubeObject>();
    const put = (o: KubeObject) => objects.set(`${o.kind} ns/${String(o.metadata.name)}`, o);
    put(svc('a', '10.96.0.1', '2026-01-01T00:00:00Z'));
    put(svc('b', '10.96.0.2', '2026-01-02T00:00:00Z'));
    put(slice('a-1', 'a', '10.0.0.1'));
    f.set(new Map(objects));
    f.check();
    put(slice('a-1', 'b', '10.0.0.1')); // moves from a to b
    f.set(new Map(objects));
    f.check();
    put(slice('bad', 7, '10.0.0.2')); // a label that is no name
    f.set(new Map(objects));
    f.check();
    put(svc('c', '10.96.0.1', '2026-01-03T00:00:00Z')); // a's cluster IP: c loses
    f.set(new Map(objects));
    f.check();
    objects.delete('Service ns/a'); // now c wins it
    f.set(new Map(objects));
    f.check();
    objects.delete('EndpointSlice ns/bad');
    f.set(new Map(objects));
    f.check();
    expect(f.partialUpdates).toBe(5);
  });
});
