// lib/plan/counters.ts over the golden case rules-fixtures/counters: where each counter is hit, the cap,
// and that counters off leave the plan as it was.
import { join } from 'node:path';
import { loadConfigFile } from '../../lib/config/kube-proxy-config.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import type { Chain, FamilyRuleset } from '../../lib/nft/ir.ts';
import { planFromStore } from '../../lib/render.ts';
import { FIXTURES } from '../support/render-case.ts';

const dir = join(FIXTURES, 'counters');
const config = loadConfigFile(join(dir, 'config.yaml'), () => {});
const plan = (counters: typeof config.counters | undefined = config.counters) => planFromStore(loadManifests(join(dir, 'manifests')).store, { ...config, counters: counters! }, 'node1').ruleset;
const table = (t: { tables: FamilyRuleset[] }, f = 'ip') => t.tables.find((x) => x.family === f)!;
const chain = (t: FamilyRuleset, name: string): Chain => t.chains.find((c) => c.name === name)!;

test('counters off: no counter, no count rule, the same chains as a config without the field', () => {
  const off = plan({ enabled: false, maxEndpoints: 20 });
  const { counters: _, ...withoutField } = config;
  const none = planFromStore(loadManifests(join(dir, 'manifests')).store, withoutField as typeof config, 'node1').ruleset;
  expect(JSON.stringify(off)).toBe(JSON.stringify(none));
  expect(JSON.stringify(off)).not.toMatch(/cnt\/|"op":"count"|"counter"/);
});

test('the service port counter is hit once on every path: svc first, ext after its gotos to svc', () => {
  const t = table(plan());
  expect(chain(t, 'svc/default/web/tcp/http').rules[0]).toEqual({ op: 'count', counter: 'cnt/default/web/tcp/http' });
  expect(chain(t, 'ext/default/web/tcp/http').rules.map((r) => r.op)).toEqual(['goto-if-from-pods', 'goto-if-from-node', 'count', 'dnat-chance', 'dnat']);
});

test('every DNAT names its endpoint counter; above 16 endpoints ep/ chains replace the map; above maxEndpoints only the service port counts', () => {
  const t = table(plan());
  for (const c of t.chains) for (const r of c.rules) if ((r.op === 'dnat' || r.op === 'dnat-chance') && !c.name.includes('/huge/')) expect(r.counter).toBe(`cnt/${c.name.split('/').slice(1, 5).join('/')}/${r.address}_${r.port}`);
  expect(chain(t, 'svc/default/big/tcp/80').rules.at(-1)).toMatchObject({ op: 'pick-chain' });
  expect(t.endpointMaps.map((m) => m.name)).toEqual(['eps/default/huge/udp/53']);
  expect(t.counters!.filter((n) => n.includes('/big/'))).toHaveLength(19);
  expect(t.counters!.filter((n) => n.includes('/huge/'))).toEqual(['cnt/default/huge/udp/53']);
  expect(t.counters!.some((n) => n.includes('/empty/'))).toBe(false);
  // The cap counts endpoints: at 18, big keeps its map and has its service port counter only.
  const capped = table(plan({ enabled: true, maxEndpoints: 17 }));
  expect(capped.counters!.filter((n) => n.includes('/big/'))).toEqual(['cnt/default/big/tcp/80']);
  expect(chain(capped, 'svc/default/big/tcp/80').rules.at(-1)).toMatchObject({ op: 'dnat-random' });
});
