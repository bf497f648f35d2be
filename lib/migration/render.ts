// The nft text of the migration, from templates/ like every other line of nft text sluice writes.
import { Eta } from 'eta';
import { fileURLToPath } from 'node:url';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));
const FAMILIES = new Set(['ip', 'ip6']);

let eta: Eta | undefined;

/** Deletes kube-proxy's nftables tables of these families (only ip and ip6: the ones kube-proxy makes). */
export function renderKubeProxyCleanup(families: string[]): string {
  for (const f of families) if (!FAMILIES.has(f)) throw new Error(`not a kube-proxy table family: ${JSON.stringify(f)}`);
  eta ??= new Eta({ views: TEMPLATES, autoEscape: false, cache: true, autoTrim: false });
  return eta.render('kube-proxy-cleanup', { families });
}
