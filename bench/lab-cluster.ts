// The synthetic cluster for the data-plane benchmark: bench/synth.ts's services, except that the
// first and the last service have the lab's real pods as endpoints, so a connection to either is
// answered while the services in between keep their synthetic (unreachable) endpoints.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { endpointSlice, podAddress, writeSyntheticCluster, type SynthOptions } from './synth.ts';

/** The services whose endpoints are the lab's pods. */
export function realServices(opts: SynthOptions): number[] {
  return opts.services > 1 ? [0, opts.services - 1] : [0];
}

/** The i-th service's endpoint addresses in the lab cluster. */
export function labEndpoints(i: number, opts: SynthOptions, podIPs: string[]): string[] {
  if (realServices(opts).includes(i)) return [...podIPs];
  return Array.from({ length: opts.endpoints }, (_, j) => podAddress(i * opts.endpoints + j));
}

/** An EndpointSlice whose endpoints are the given pods, all on node1 (where the lab's pods run). */
export function labEndpointSlice(i: number, podIPs: string[]) {
  const slice = endpointSlice(i, { services: 1, endpoints: podIPs.length }, (j) => podIPs[j]);
  for (const e of slice.endpoints) e.nodeName = 'node1';
  return slice;
}

export function writeLabCluster(dir: string, opts: SynthOptions, podIPs: string[]): void {
  if (podIPs.length === 0) throw new Error('the lab cluster needs at least one pod');
  writeSyntheticCluster(dir, opts);
  for (const i of realServices(opts)) {
    writeFileSync(join(dir, 'endpointslices', `svc-${i}.json`), JSON.stringify(labEndpointSlice(i, podIPs)));
  }
}
