// What every sluice table has whatever the services: the shared sets and verdict maps, the base chains
// on the kernel's hooks, and the helper chains they use. Service ports fill the sets and maps; the
// trace (lib/trace/skeleton.ts) reads these chains' meaning rule by rule.
import { TABLE_ID_SET, type Chain, type SharedSet, type TableFamily } from './ir.ts';

export interface Skeleton {
  sets: SharedSet[];
  chains: Chain[];
}

export function skeletonOf(family: TableFamily, mark: string): Skeleton {
  const F = family;
  const set = (name: SharedSet['name'], key: SharedSet['key'], o: Partial<SharedSet> = {}): SharedSet => ({ family: F, name, key, ...o });
  const sets: SharedSet[] = [
    set('cluster-ips', ['address']),
    set('nodeport-ips', ['address'], { interval: true }),
    set('service-ips', ['address', 'proto', 'port'], { verdicts: true }),
    set('service-nodeports', ['proto', 'port'], { verdicts: true }),
    set('no-endpoint-services', ['address', 'proto', 'port'], { verdicts: true }),
    set('no-endpoint-nodeports', ['proto', 'port'], { verdicts: true }),
    // Load-balancer addresses with source ranges, and the sources each lets in.
    set('firewall-ips', ['address', 'proto', 'port']),
    set('firewall-allow', ['address', 'proto', 'port', 'address'], { interval: true }),
    // Endpoint . itself: a pod reaching itself through its service is masqueraded (or its answer would skip the DNAT).
    set('hairpin', ['address', 'address']),
    set('service-cidrs', ['address'], { interval: true }),
    set('pod-ranges', ['address'], { interval: true }),
    // One number, chosen by the full sync that made the table: a table made anew by anyone else holds
    // another (object handles start again from 1 in a new table, so they cannot tell).
    set(TABLE_ID_SET, ['number']),
  ];
  // After DNAT, a new connection still addressed to a service has no endpoint to go to. Rejected
  // here rather than in input or forward, so the answer does not depend on the node's routes; an
  // address of the service CIDRs that no Service owns is dropped, as kube-proxy does.
  const rejects = [
    { op: 'address-vmap', family: F, map: 'no-endpoint-services', newOnly: true },
    { op: 'nodeport-vmap', family: F, map: 'no-endpoint-nodeports', newOnly: true },
    { op: 'reject-cluster-ips', family: F },
    { op: 'drop-service-cidrs', family: F },
  ] as const;
  const chains: Chain[] = [
    { name: 'reject-chain', rules: [{ op: 'reject', tcp: true }, { op: 'reject' }] },
    { name: 'services', rules: [{ op: 'address-vmap', family: F, map: 'service-ips' }, { op: 'nodeport-vmap', family: F, map: 'service-nodeports' }] },
    { name: 'filter-prerouting', hook: { type: 'filter', hook: 'prerouting', priority: 'dstnat - 10' }, rules: [{ op: 'firewall', family: F }] },
    { name: 'filter-output-pre-dnat', hook: { type: 'filter', hook: 'output', priority: '-110' }, rules: [{ op: 'firewall', family: F }] },
    { name: 'filter-prerouting-post-dnat', hook: { type: 'filter', hook: 'prerouting', priority: 'dstnat + 10' }, rules: [...rejects] },
    { name: 'filter-output-post-dnat', hook: { type: 'filter', hook: 'output', priority: '-90' }, rules: [...rejects] },
    { name: 'nat-prerouting', hook: { type: 'nat', hook: 'prerouting', priority: 'dstnat' }, rules: [{ op: 'jump', chain: 'services' }] },
    { name: 'nat-output', hook: { type: 'nat', hook: 'output', priority: '-100' }, rules: [{ op: 'jump', chain: 'services' }] },
    {
      name: 'nat-postrouting', hook: { type: 'nat', hook: 'postrouting', priority: 'srcnat' },
      // Hairpin traffic first; then traffic with the mark loses it and is masqueraded.
      rules: [{ op: 'masquerade-hairpin', family: F }, { op: 'return-unless-marked', mark }, { op: 'clear-mark', mark }, { op: 'masquerade' }],
    },
  ];
  return { sets, chains };
}

const NAMES = skeletonOf('ip', '0x0');
/** The skeleton's chains by name: base chains and the shared helpers. */
export const SKELETON_CHAINS: readonly string[] = NAMES.chains.map((c) => c.name);
/** Which of the shared sets are maps (nft flushes and deletes them as `map`). */
export const GLOBAL_MAPS: ReadonlySet<string> = new Set(NAMES.sets.filter((s) => s.verdicts).map((s) => s.name));
/** Every set and map of the skeleton by name. */
export const SKELETON_SETS: readonly string[] = NAMES.sets.map((s) => s.name);
