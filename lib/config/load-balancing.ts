// sluice's extension of the configuration: `loadBalancing`, how service chains pick an endpoint.
// kube-proxy does not have it. Invalid values are errors naming the field, as for kube-proxy's own.
import { isPrime, MAX_TABLE_SIZE, MIN_TABLE_SIZE } from '../plan/maglev.ts';
import { show } from '../model/validate.ts';

export interface LoadBalancing {
  /** The node-wide default; a Service's sluice.dev/lb-algorithm annotation overrides it. */
  algorithm: 'random' | 'maglev';
  /** Slots of each Maglev table (a prime); every node of a cluster must use the same. */
  tableSize: number;
  /** What the kernel hashes: `flow` is source address and port, `source` the source address only. */
  hash: 'flow' | 'source';
  /** Whether Maglev also picks for traffic to cluster IPs; by default only external traffic uses it. */
  clusterTraffic: boolean;
}

/**
 * 1021: even within 1% of M/N up to 10 endpoints and 3% up to 50, and a removal moves about 2% more
 * of the flows than the removed endpoint had (N = 10); 4093 halves that but loads four times the
 * elements into the kernel. Measured in BENCHMARKS.md ("Maglev").
 */
export const DEFAULT_TABLE_SIZE = 1021;

export const DEFAULT_LOAD_BALANCING: LoadBalancing = { algorithm: 'random', tableSize: DEFAULT_TABLE_SIZE, hash: 'flow', clusterTraffic: false };

const KNOWN = new Set(['algorithm', 'tableSize', 'hash', 'clusterTraffic']);

/** `fail(field, message)` throws the configuration's error for that field. */
export function parseLoadBalancing(v: any, warn: (msg: string) => void, fail: (field: string, message: string) => never): LoadBalancing {
  const lb = { ...DEFAULT_LOAD_BALANCING };
  if (v === undefined || v === null) return lb;
  if (typeof v !== 'object' || Array.isArray(v)) fail('loadBalancing', 'is not an object');
  for (const k of Object.keys(v)) if (!KNOWN.has(k)) warn(`config: unknown field loadBalancing.${k} ignored`);
  if (v.algorithm !== undefined && v.algorithm !== null) {
    if (v.algorithm !== 'random' && v.algorithm !== 'maglev') fail('loadBalancing.algorithm', `${show(v.algorithm)} is not random or maglev`);
    lb.algorithm = v.algorithm;
  }
  if (v.tableSize !== undefined && v.tableSize !== null) {
    const n = v.tableSize;
    if (!Number.isInteger(n) || n < MIN_TABLE_SIZE || n > MAX_TABLE_SIZE || !isPrime(n)) {
      fail('loadBalancing.tableSize', `${show(n)} is not a prime from ${MIN_TABLE_SIZE} to ${MAX_TABLE_SIZE} (e.g. 251, 1021, 4093, 16381)`);
    }
    lb.tableSize = n;
  }
  if (v.hash !== undefined && v.hash !== null) {
    if (v.hash !== 'flow' && v.hash !== 'source') fail('loadBalancing.hash', `${show(v.hash)} is not flow or source`);
    lb.hash = v.hash;
  }
  if (v.clusterTraffic !== undefined && v.clusterTraffic !== null) {
    if (typeof v.clusterTraffic !== 'boolean') fail('loadBalancing.clusterTraffic', `${show(v.clusterTraffic)} is not true or false`);
    lb.clusterTraffic = v.clusterTraffic;
  }
  return lb;
}
