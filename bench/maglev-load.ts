// Maglev's cost to the kernel: the full script for S services of E endpoints (all LoadBalancer, one
// TCP port, a node port and an ingress IP each), a share of them with sluice.dev/lb-algorithm: maglev,
// rendered in-process and loaded with `nft -f` into a fresh network namespace. Root only.
// Usage: node bench/maglev-load.ts [--services 10000] [--endpoints 10] [--shares 0,0.1,1] [--sizes 251,1021,4093,16381]
//                                  [--max-elements 12000000] [--runs 1]
// Prints one JSON line per case: share, tableSize, Maglev elements, script MB, render and load seconds.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, type ProxyConfig } from '../lib/config/kube-proxy-config.ts';
import type { Endpoint, ProxyModel, ServicePort } from '../lib/model/types.ts';
import { renderRulesetChunks } from '../lib/nft/templates.ts';
import { planRuleset } from '../lib/plan/plan.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' }, endpoints: { type: 'string', default: '10' },
    shares: { type: 'string', default: '0,0.1,1' }, sizes: { type: 'string', default: '251,1021,4093,16381' },
    'max-elements': { type: 'string', default: '12000000' }, runs: { type: 'string', default: '1' },
  },
});
const S = Number(values.services), E = Number(values.endpoints), RUNS = Number(values.runs);
const maxElements = Number(values['max-elements']);

const ip = (base: number, n: number) => `10.${base + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255}`;

function model(share: number): ProxyModel {
  const maglevEvery = share > 0 ? Math.round(1 / share) : 0;
  const servicePorts: ServicePort[] = [];
  for (let i = 0; i < S; i++) {
    const endpoints: Endpoint[] = [];
    for (let j = 0; j < E; j++) endpoints.push({ address: ip(128, i * E + j + 1), port: 8080, nodeName: j % 2 ? 'node2' : 'node1', ready: true, serving: true, terminating: false });
    servicePorts.push({
      namespace: 'bench', name: `svc-${i}`, portName: '', protocol: 'tcp', family: 4, clusterIP: ip(96, i + 1), port: 80,
      nodePort: 30000 + (i % 30000), externalIPs: [], loadBalancerIPs: [`198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`],
      sourceRanges: [], externalPolicyLocal: false, internalPolicyLocal: false, endpoints,
      ...(maglevEvery && i % maglevEvery === 0 ? { lbAlgorithm: 'maglev' as const } : {}),
    });
  }
  // Node ports above 32767 would collide past 30,000 services; the bench stays below that.
  return { node: { name: 'node1', known: true, internalIPs: ['172.30.0.1'], podCIDRs: ['10.244.1.0/24'] }, servicePorts, serviceCIDRs: [], problems: [] };
}

function load(script: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-maglev-bench-'));
  const file = join(dir, 'rules.nft');
  writeFileSync(file, script);
  const ns = `sluice-mgb-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`nft -f failed: ${r.stderr.slice(0, 2000)}`);
    return s;
  } finally {
    spawnSync('ip', ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const share of values.shares.split(',').map(Number)) {
  const m = model(share);
  for (const size of share === 0 ? [0] : values.sizes.split(',').map(Number)) {
    const maglevServices = share > 0 ? Math.ceil(S * share) : 0;
    if (maglevServices * size > maxElements) {
      console.log(JSON.stringify({ services: S, endpoints: E, share, tableSize: size, skipped: `${maglevServices * size} elements > --max-elements` }));
      continue;
    }
    const config: ProxyConfig = { ...DEFAULT_CONFIG, clusterCIDRs: [], loadBalancing: { ...DEFAULT_CONFIG.loadBalancing, tableSize: size || 1021 } };
    const t0 = performance.now();
    const script = [...renderRulesetChunks(planRuleset(m, config))].join('');
    const renderS = (performance.now() - t0) / 1000;
    const loads: number[] = [];
    for (let r = 0; r < RUNS; r++) loads.push(load(script));
    console.log(JSON.stringify({
      services: S, endpoints: E, share, tableSize: size, maglevElements: maglevServices * size,
      scriptMB: +(script.length / 1e6).toFixed(1), renderS: +renderS.toFixed(2), loadS: loads.map((s) => +s.toFixed(2)),
      rssMB: Math.round(process.memoryUsage().rss / 1e6),
    }));
  }
}
