// The objects `sluice diff`, `sluice trace` and `sluice services` look at: the manifests in --from, or one listing
// of the cluster, as `sluice run` would see them at start.
import type { Logger } from '../log.ts';
import { loadManifests } from '../manifests/load.ts';
import { ObjectStore } from '../objects/store.ts';

export async function loadStore(o: { from?: string; kubeconfig?: string; nodeName: string; log: Logger }): Promise<ObjectStore> {
  if (o.from) {
    const loaded = loadManifests(o.from);
    for (const n of loaded.notes) o.log.info(n);
    for (const d of loaded.duplicates) o.log.warn(d);
    return loaded.store;
  }
  const { ClusterSource } = await import('../k8s/cluster-source.ts');
  const { loadKubeConfig } = await import('../k8s/kubeconfig.ts');
  const store = new ObjectStore();
  const source = new ClusterSource({ kubeConfig: loadKubeConfig(o.kubeconfig), nodeName: o.nodeName, logger: o.log });
  const listed = new Promise<void>((resolve) => {
    store.onChange = () => { if (store.isSynced('Service', 'EndpointSlice', 'Endpoints', 'Node')) resolve(); };
  });
  await source.start(store);
  await listed;
  await source.stop();
  return store;
}
