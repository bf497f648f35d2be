// `sluice run --full-sync-period`: the tables are written whole again once the period is up, with
// nothing changed in between; without it, not within the test (the default is the hour).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG } from '../../lib/config/kube-proxy-config.ts';
import { recordingLogger } from '../../lib/log.ts';
import { runProxy, type RunningProxy } from '../../lib/run.ts';
import { eventually } from '../support/eventually.ts';
import { FakeNft } from '../support/nft-fake/fake-nft.ts';

let dir: string;
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  rmSync(dir, { recursive: true, force: true });
  for (const nft of FakeNft.made.splice(0)) expect(nft.refused).toEqual([]);
});

const isFull = (script: string) => /^table ip sluice \{$/m.test(script);

async function start(fullSyncPeriodMs?: number): Promise<FakeNft> {
  dir = mkdtempSync(join(tmpdir(), 'sluice-fsp-'));
  writeFileSync(join(dir, 'objects.yaml'), `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: 10.96.0.1, ports: [{ port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ port: 80 }]
endpoints: [{ addresses: [10.244.1.11], nodeName: node1 }]
---
apiVersion: v1
kind: Node
metadata: { name: node1 }
`);
  const nft = new FakeNft();
  proxy = await runProxy({
    config: { ...DEFAULT_CONFIG, minSyncPeriodMs: 20, syncPeriodMs: 100 }, serve: false,
    nodeName: 'node1', log: recordingLogger(), from: dir, nft, fullSyncPeriodMs,
    conntrack: { reconcile: async () => ({ deleted: { IPv4: 0, IPv6: 0 } }) },
  });
  return nft;
}

test('with a period of 300 ms, the periodic checks write the tables whole again', async () => {
  const nft = await start(300);
  await eventually(() => expect(nft.scripts.filter(isFull).length).toBeGreaterThanOrEqual(3));
});

test('with the default period, the first full sync is the only one', async () => {
  const nft = await start();
  await eventually(() => expect(nft.scripts.filter(isFull).length).toBe(1));
  await new Promise((r) => setTimeout(r, 800));
  expect(nft.scripts.filter(isFull)).toHaveLength(1);
});
