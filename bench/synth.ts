// A synthetic cluster as a manifest folder: N services with E endpoints each, one JSON file per
// Service and per EndpointSlice (so one endpoint change is one file edit), plus this node.
// Usage: node bench/synth.ts OUT_DIR [--services 10000] [--endpoints 10]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export interface SynthOptions { services: number; endpoints: number }

/** The i-th service's cluster IP (10.96.0.0/12 holds a million) and its endpoints' pod addresses. */
export function serviceIP(i: number): string {
  const n = i + 1;
  return `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export function endpointSlice(i: number, opts: SynthOptions, podIP: (j: number) => string = (j) => podAddress(i * opts.endpoints + j)) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-abcde`, namespace: 'bench', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: opts.endpoints }, (_, j) => ({
      addresses: [podIP(j)],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: j % 10 === 0 ? 'node1' : `node${2 + (j % 9)}`,
    })),
  };
}

/** Pod addresses from 10.128.0.1 up, one per endpoint (10.128.0.0/9 holds eight million). */
export function podAddress(n: number): string {
  const v = n + 1;
  return `10.${128 + ((v >> 16) & 127)}.${(v >> 8) & 255}.${v & 255}`;
}

export function service(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'bench' },
    spec: { type: 'ClusterIP', clusterIP: serviceIP(i), clusterIPs: [serviceIP(i)], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

export function writeSyntheticCluster(dir: string, opts: SynthOptions): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'services'), { recursive: true });
  mkdirSync(join(dir, 'endpointslices'), { recursive: true });
  writeFileSync(join(dir, 'node.json'), JSON.stringify({
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' },
    spec: { podCIDRs: ['10.128.0.0/9'] },
    status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }] },
  }));
  for (let i = 0; i < opts.services; i++) {
    writeFileSync(join(dir, 'services', `svc-${i}.json`), JSON.stringify(service(i)));
    writeFileSync(join(dir, 'endpointslices', `svc-${i}.json`), JSON.stringify(endpointSlice(i, opts)));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { services: { type: 'string', default: '10000' }, endpoints: { type: 'string', default: '10' } } });
  if (positionals.length !== 1) throw new Error('usage: synth.ts OUT_DIR [--services N] [--endpoints E]');
  writeSyntheticCluster(positionals[0], { services: Number(values.services), endpoints: Number(values.endpoints) });
}
