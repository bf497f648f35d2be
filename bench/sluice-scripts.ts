// Scripts sluice would send nft, made with sluice's own code (lib/, read only) for the benchmark to time
// nft alone on them:
// - the hourly full sync: the table written whole over the table sluice wrote itself (the prologue
//   empties the stateless sets and maps, then every chain and element is written again), as
//   `SyncLoop` does when `fullSyncPeriodMs` is up (`sluice run` has no flag to shorten that period);
// - the partial transaction for one endpoint change (the diff of the ruleset before and after).
// Usage: node bench/sluice-scripts.ts DIR CONFIG OUT_DIR SERVICE ADDRESS
//        writes OUT_DIR/full-sync-existing.nft and OUT_DIR/endpoint-change.nft
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../lib/config/kube-proxy-config.ts';
import { loadManifests } from '../lib/manifests/load.ts';
import { diffRulesets } from '../lib/nft/diff.ts';
import { inventoryOf } from '../lib/nft/inventory.ts';
import { renderTableChunks, renderTransaction } from '../lib/nft/templates.ts';
import type { KubeObject } from '../lib/objects/objects.ts';
import { planFromStore } from '../lib/render.ts';

export interface SluiceScripts {
  fullSyncExisting: string;
  endpointChange: string;
  /** the change undone: the same shape of transaction, back to the cluster as written */
  endpointChangeBack: string;
  endpointChangeLines: number;
}

/** The two scripts for the cluster in `dir`; the change gives `service`'s first IPv4 endpoint `address`. */
export function sluiceScripts(dir: string, configFile: string, outDir: string, service: number, address: string): SluiceScripts {
  const config = loadConfigFile(configFile, () => {});
  const { store } = loadManifests(dir);
  const before = planFromStore(store, config, 'node1').ruleset;
  const fullSyncExisting = join(outDir, 'full-sync-existing.nft');
  writeFileSync(fullSyncExisting, before.tables.map((t) => [...renderTableChunks(t, { existing: inventoryOf(t) })].join('')).join(''));

  const key = `bench/svc-${service}-abcde`;
  const slice = [...store.objects().endpointSlices].find((s) => `${s.metadata.namespace}/${s.metadata.name}` === key);
  if (!slice) throw new Error(`no EndpointSlice ${key}`);
  const changed = structuredClone(slice) as KubeObject & { endpoints: { addresses: string[] }[] };
  changed.endpoints[0].addresses = [address];
  store.upsert(changed);
  const after = planFromStore(store, config, 'node1').ruleset;
  const tx = diffRulesets(before, after);
  if (tx.kind !== 'partial') throw new Error(`one endpoint change made a ${tx.kind} sync: ${tx.reason}`);
  const text = renderTransaction(tx.tables);
  const endpointChange = join(outDir, 'endpoint-change.nft');
  writeFileSync(endpointChange, text);
  const back = diffRulesets(after, before);
  if (back.kind !== 'partial') throw new Error(`undoing one endpoint change made a ${back.kind} sync: ${back.reason}`);
  const endpointChangeBack = join(outDir, 'endpoint-change-back.nft');
  writeFileSync(endpointChangeBack, renderTransaction(back.tables));
  return { fullSyncExisting, endpointChange, endpointChangeBack, endpointChangeLines: text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, config, out, service, address] = process.argv.slice(2);
  if (!address) throw new Error('usage: sluice-scripts.ts DIR CONFIG OUT_DIR SERVICE ADDRESS');
  process.stdout.write(JSON.stringify(sluiceScripts(dir, config, out, Number(service), address)) + '\n');
}
