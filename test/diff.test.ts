// The diff: for pairs of rulesets, the transaction from the first to the second, applied in a
// namespace that holds the first, leaves exactly what loading the second from scratch leaves.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../lib/config/kube-proxy-config.ts';
import type { KubeObject } from '../lib/objects/objects.ts';
import { buildModel } from '../lib/model/build.ts';
import { diffRulesets, isEmptyTransaction } from '../lib/nft/diff.ts';
import type { Ruleset } from '../lib/nft/ir.ts';
import { renderRuleset, renderTransaction } from '../lib/nft/templates.ts';
import { planRuleset } from '../lib/plan/plan.ts';
import { nftAvailable, withNetns } from './support/netns.ts';
import { normalizeListing } from './support/nft-json.ts';
import { FIXTURES } from './support/render-case.ts';
import { loadManifests } from '../lib/manifests/load.ts';

const config = parseConfig({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.244.0.0/16,fd00:244::/32' }, () => {});

function rulesetOf(objects: KubeObject[], node = 'node1'): Ruleset {
  const by = (k: string) => objects.filter((o) => o.kind === k);
  return planRuleset(buildModel({ services: by('Service'), endpointSlices: by('EndpointSlice'), endpoints: by('Endpoints'), nodes: by('Node') }, node), config);
}

/** Every golden case's objects, rendered with one configuration, so that any two differ only in services. */
const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const rulesets = new Map<string, Ruleset>(cases.map((c) => {
  const store = loadManifests(join(FIXTURES, c, 'manifests')).store;
  const o = store.objects();
  return [c, rulesetOf([...o.services, ...o.endpointSlices, ...o.endpoints, ...o.nodes])];
}));
rulesets.set('(nothing)', rulesetOf([]));

const available = nftAvailable();
const maybe = available.ok ? test : test.skip;

test('an unchanged ruleset gives an empty transaction', () => {
  for (const r of rulesets.values()) expect(isEmptyTransaction(diffRulesets(r, r))).toBe(true);
  // Built again from the same objects, not the same object in memory.
  const again = loadManifests(join(FIXTURES, 'lab-cluster', 'manifests')).store.objects();
  const rebuilt = rulesetOf([...again.services, ...again.endpointSlices, ...again.endpoints, ...again.nodes]);
  expect(isEmptyTransaction(diffRulesets(rulesets.get('lab-cluster'), rebuilt))).toBe(true);
});

test('nothing applied yet, or another masquerade mark, asks for a full sync', () => {
  const r = rulesets.get('my-service')!;
  expect(diffRulesets(undefined, r)).toEqual({ kind: 'full', reason: 'nothing applied yet' });
  const marked = { ...r, tables: r.tables.map((t) => ({ ...t, mark: '0x00000001' })) };
  expect(diffRulesets(r, marked).kind).toBe('full');
});

maybe('another pod match (a new cluster CIDR) is a partial transaction that rewrites the chains using it', () => {
  const o = loadManifests(join(FIXTURES, 'lab-cluster', 'manifests')).store.objects();
  const model = buildModel(o, 'node1');
  const other = parseConfig({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.240.0.0/12,fd00:240::/28' }, () => {});
  const from = planRuleset(model, config), to = planRuleset(model, other);
  const tx = diffRulesets(from, to);
  if (tx.kind !== 'partial') throw new Error(`expected a partial transaction, got ${tx.reason}`);
  const script = renderTransaction(tx.tables);
  expect(script).toContain('ip saddr != 10.240.0.0/12 meta mark set');
  expect(script).not.toContain('10.244.0.0/16');
  const expected = withNetns((nft) => {
    nft(['-f', '-'], renderRuleset(to));
    return normalizeListing(nft(['-j', 'list', 'ruleset']));
  });
  withNetns((nft) => {
    nft(['-f', '-'], renderRuleset(from));
    nft(['-f', '-'], script);
    expect(normalizeListing(nft(['-j', 'list', 'ruleset']))).toEqual(expected);
  });
});

// Every case from nothing, to nothing, and to the next case and the one after (cases differ in every
// way): each case is left and entered from several others, and the pairs grow with the cases, not
// with their square. Random sequences of changes are test/transitions' job.
const named = [...rulesets.keys()].filter((n) => n !== '(nothing)');
const pairs = named.flatMap((a, i) => [
  ['(nothing)', a], [a, '(nothing)'], [a, named[(i + 1) % named.length]], [a, named[(i + 2) % named.length]],
] as const);

maybe.each(pairs)('%s -> %s: the transaction leaves what a full load of the second leaves', (a, b) => {
  const from = rulesets.get(a)!, to = rulesets.get(b)!;
  const tx = diffRulesets(from, to);
  if (tx.kind !== 'partial') throw new Error(`expected a partial transaction, got ${tx.reason}`);
  const expected = withNetns((nft) => {
    nft(['-f', '-'], renderRuleset(to));
    return normalizeListing(nft(['-j', 'list', 'ruleset']));
  });
  withNetns((nft) => {
    nft(['-f', '-'], renderRuleset(from));
    nft(['-f', '-'], renderTransaction(tx.tables));
    expect(normalizeListing(nft(['-j', 'list', 'ruleset']))).toEqual(expected);
  });
});

test('one endpoint more is a transaction of a few lines, not a rewrite', () => {
  const base = loadManifests(join(FIXTURES, 'lab-cluster', 'manifests')).store.objects();
  const objects = [...base.services, ...base.endpointSlices, ...base.endpoints, ...base.nodes];
  const before = rulesetOf(objects);
  const grown = objects.map((o) => o.kind === 'EndpointSlice' && o.metadata.name === 'spread-1'
    ? { ...o, endpoints: [...(o.endpoints as unknown[]), { addresses: ['10.244.2.13'], nodeName: 'node2' }] } : o);
  const tx = diffRulesets(before, rulesetOf(grown));
  if (tx.kind !== 'partial') throw new Error('expected partial');
  const text = renderTransaction(tx.tables);
  expect(text.trim().split('\n')).toEqual([
    'flush chain ip sluice svc/lab/spread/tcp/80',
    'add rule ip sluice svc/lab/spread/tcp/80 ip saddr != 10.244.0.0/16 meta mark set meta mark | 0x00004000',
    'add rule ip sluice svc/lab/spread/tcp/80 numgen random mod 5 == 0 meta l4proto tcp dnat ip to 10.244.1.11:9376',
    'add rule ip sluice svc/lab/spread/tcp/80 numgen random mod 4 == 0 meta l4proto tcp dnat ip to 10.244.1.12:9376',
    'add rule ip sluice svc/lab/spread/tcp/80 numgen random mod 3 == 0 meta l4proto tcp dnat ip to 10.244.2.11:9376',
    'add rule ip sluice svc/lab/spread/tcp/80 numgen random mod 2 == 0 meta l4proto tcp dnat ip to 10.244.2.12:9376',
    'add rule ip sluice svc/lab/spread/tcp/80 meta l4proto tcp dnat ip to 10.244.2.13:9376',
  ]);
});

// A rule rewritten to use a map that is already in the kernel is read against the kernel's map: this
// once failed ("conflicting protocols") while the same rule in a whole script loaded fine.
maybe.each(['tcp', 'udp'])('endpoints changing one at a time (%s): each transaction applies and leaves the full result', (proto) => {
  const svc = { kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: '10.96.0.1', ports: [{ port: 53, protocol: proto.toUpperCase() }] } } as KubeObject;
  const slice = (n: number) => ({ kind: 'EndpointSlice', metadata: { name: 's-1', namespace: 'n', labels: { 'kubernetes.io/service-name': 's' } },
    addressType: 'IPv4', ports: [{ port: 53, protocol: proto.toUpperCase() }],
    endpoints: Array.from({ length: n }, (_, i) => ({ addresses: [`10.244.1.${(i * 7) % 50 + 1}`], nodeName: 'node1' })) }) as KubeObject;
  // Across CASCADE_MAX (16): a cascade of rules below it, a map of endpoints above.
  const steps = [0, 1, 2, 3, 2, 1, 0, 3, 17, 20, 18, 16, 30, 0, 20].map((n) => rulesetOf([svc, slice(n)]));
  withNetns((nft) => {
    nft(['-f', '-'], renderRuleset(steps[0]));
    for (let i = 1; i < steps.length; i++) {
      const tx = diffRulesets(steps[i - 1], steps[i]);
      if (tx.kind !== 'partial') throw new Error('expected partial');
      nft(['-f', '-'], renderTransaction(tx.tables));
      const expected = withNetns((fresh) => { fresh(['-f', '-'], renderRuleset(steps[i])); return normalizeListing(fresh(['-j', 'list', 'ruleset'])); });
      expect(normalizeListing(nft(['-j', 'list', 'ruleset']))).toEqual(expected);
    }
  });
});
