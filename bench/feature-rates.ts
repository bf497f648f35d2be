// What Maglev and counters cost a new connection: new TCP connections per second through node1 of a
// lab (client -> node1 -> pods pa1, pa2), to a load-balancer IP whose service picks at random, one
// whose service uses Maglev, and straight to the pods, the three taking turns within each client run
// (bench/connect-rate.ts), so load from elsewhere hits them alike. Then again with counters on (every
// service counted, per service port and per endpoint). The rules are rendered in-process from the
// manifests below; a connection's cost does not depend on how many services there are (one verdict
// map lookup), so two services are enough.
//
// Usage (root): node bench/feature-rates.ts [--seconds 3] [--rounds 3] [--parallel 64]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../lib/config/kube-proxy-config.ts';
import type { KubeObject } from '../lib/objects/objects.ts';
import { ObjectStore } from '../lib/objects/store.ts';
import { renderStore } from '../lib/render.ts';
import { recordingLogger } from '../lib/log.ts';
import { createLab, type Lab } from '../lab/lab.ts';
import { median } from './stats.ts';
import { NODE } from './context.ts';
import { runTimed } from './proc.ts';
import type { RateReport } from './connect-rate.ts';

const CONNECT_RATE = fileURLToPath(new URL('./connect-rate.ts', import.meta.url));
const POD_PORT = 8080;

function services(pods: string[]): KubeObject[] {
  const svc = (name: string, ip: string, lbIP: string, annotations?: Record<string, string>): KubeObject[] => [
    {
      kind: 'Service', metadata: { name, namespace: 'bench', ...(annotations ? { annotations } : {}) },
      spec: { type: 'LoadBalancer', clusterIP: ip, ports: [{ port: 80, targetPort: POD_PORT, nodePort: 30000 + Number(ip.split('.')[3]) }] },
      status: { loadBalancer: { ingress: [{ ip: lbIP }] } },
    },
    {
      kind: 'EndpointSlice', metadata: { name: `${name}-1`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4', ports: [{ port: POD_PORT }], endpoints: pods.map((a) => ({ addresses: [a], nodeName: 'node1' })),
    },
  ];
  return [
    { kind: 'Node', metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }] } },
    ...svc('random', '10.96.0.1', '198.51.100.1'),
    ...svc('maglev', '10.96.0.2', '198.51.100.2', { 'sluice.dev/lb-algorithm': 'maglev' }),
  ];
}

function rules(objects: KubeObject[], counters: boolean): string {
  const store = new ObjectStore();
  for (const o of objects) store.upsert(o);
  const config = parseConfig({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', hostnameOverride: 'node1',
    clusterCIDR: '10.244.0.0/16', ...(counters ? { counters: { enabled: true } } : {}),
  }, () => {});
  return renderStore(store, config, 'node1', recordingLogger());
}

type Target = 'random' | 'maglev' | 'direct';

async function rates(lab: Lab, o: { seconds: number; rounds: number; parallel: number }, label: string): Promise<Record<Target, number[]>> {
  const targets: Record<Target, string> = { random: '198.51.100.1:80', maglev: '198.51.100.2:80', direct: `${lab.pods.map((p) => p.ipv4).join(',')}:${POD_PORT}` };
  const names = Object.keys(targets) as Target[];
  const out: Record<Target, number[]> = { random: [], maglev: [], direct: [] };
  for (let round = 0; round < o.rounds; round++) {
    await lab.exec(lab.node1.ns, 'conntrack', ['-F']).catch(() => undefined);
    const order = [...names.slice(round % 3), ...names.slice(0, round % 3)];
    const r = await runTimed('ip', ['netns', 'exec', lab.client.ns, NODE, CONNECT_RATE, '--seconds', String(o.seconds), '--parallel', String(o.parallel),
      ...order.flatMap((n) => ['--target', `${n}=${targets[n]}`])], { timeoutMs: 3 * o.seconds * 1000 + 30_000 });
    if (r.exitCode !== 0) throw new Error(`connect-rate failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as RateReport;
    for (const n of names) out[n].push(report.targets[n].perSecond);
    process.stderr.write(`${label} round ${round + 1}: ${names.map((n) => `${n} ${Math.round(report.targets[n].perSecond)}`).join(', ')} conn/s\n`);
  }
  return out;
}

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' }, parallel: { type: 'string', default: '64' } } });
const o = { seconds: Number(values.seconds), rounds: Number(values.rounds), parallel: Number(values.parallel) };
const lab = await createLab({
  pods: [{ name: 'pa1', node: 'node1', index: 11 }, { name: 'pa2', node: 'node1', index: 12 }],
  tcpPorts: [POD_PORT], udpPorts: [], extraRoutes: ['198.51.100.0/24'],
});
try {
  await lab.exec(lab.client.ns, 'sh', ['-c', 'echo "1024 65535" > /proc/sys/net/ipv4/ip_local_port_range']);
  const objects = services(lab.pods.map((p) => p.ipv4));
  const result: Record<string, Record<Target, number[]>> = {};
  for (const counters of [false, true]) {
    await lab.loadRules(rules(objects, counters));
    result[counters ? 'counters on' : 'counters off'] = await rates(lab, o, counters ? 'counters on' : 'counters off');
  }
  // Ratios within a round (the targets of one round ran interleaved), then the median over rounds.
  const ratio = (r: Record<Target, number[]>, a: Target, b: Target) => median(r[a].map((x, i) => x / r[b][i]));
  const rows = Object.entries(result).map(([label, r]) => ({
    label, random: median(r.random), maglev: median(r.maglev), direct: median(r.direct),
    randomToDirect: ratio(r, 'random', 'direct'), maglevToDirect: ratio(r, 'maglev', 'direct'), maglevToRandom: ratio(r, 'maglev', 'random'),
  }));
  process.stdout.write(`${JSON.stringify({ seconds: o.seconds, rounds: o.rounds, parallel: o.parallel, rows }, null, 2)}\n`);
} finally {
  await lab.destroy();
}
