// Nothing from an object reaches nft text unvalidated. Property: whatever value any field of a
// Service, EndpointSlice, Node or configuration takes, every line of the rendered script has one of
// the shapes sluice's templates make (names, addresses and numbers abstracted), and the script never
// has more top-level statements than the same objects rendered with sensible values.
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG, parseConfig } from '../lib/config/kube-proxy-config.ts';
import type { KubeObject } from '../lib/objects/objects.ts';
import { buildModel } from '../lib/model/build.ts';
import { renderRuleset } from '../lib/nft/templates.ts';
import { planRuleset } from '../lib/plan/plan.ts';
import { FIXTURES, renderCase } from './support/render-case.ts';

const NAME = /\b(svc|ext|all|eps|epl|ep|aff)\/[a-z0-9-]+\/[a-z0-9-]+\/(tcp|udp|sctp)\/[a-z0-9-]+(\/[0-9a-f.]+_[0-9]+)?/g;
const ADDRESS = /(?<![\w.:])([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7})(\/[0-9]{1,3})?/g;

/** A line with every name, address and number replaced by a placeholder; element lists as a set of element shapes. */
export function shapeOf(line: string): string {
  let s = line.replace(NAME, 'NAME').replace(/0x[0-9a-f]{8}/g, 'MARK').replace(/iifname (!= )?"[A-Za-z0-9_.:-]{1,15}\*?"/g, 'iifname $1"IFACE"')
    .replace(ADDRESS, 'ADDR').replace(/[0-9]+/g, 'N');
  s = s.replace(/\{ (.*) \}/, (_, list: string) => `{ ${[...new Set(list.split(', '))].sort().join(', ')} }`);
  return s;
}

const goldenShapes = new Set<string>();
for (const c of readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory())) {
  for (const line of renderCase(join(FIXTURES, c.name)).script.split('\n')) goldenShapes.add(shapeOf(line));
}
const elementShapes = new Set<string>();
for (const shape of goldenShapes) {
  const m = /\{ (.*) \}/.exec(shape);
  if (m) for (const e of m[1].split(', ')) elementShapes.add(e);
}

function assertShapes(script: string): void {
  for (const line of script.split('\n')) {
    const shape = shapeOf(line);
    if (goldenShapes.has(shape)) continue;
    // An element list may combine element shapes seen in different golden cases.
    const m = /^(.*)\{ (.*) \}(.*)$/.exec(shape);
    const ok = m && goldenShapes.has(`${m[1]}{ ${m[2].split(', ')[0]} }${m[3]}`) && m[2].split(', ').every((e) => elementShapes.has(e));
    if (!ok) throw new Error(`unexpected line in rendered script: ${JSON.stringify(line)}`);
  }
}

const topLevel = (script: string) => script.split('\n').filter((l) => /^(table|delete|add) /.test(l)).length;

function baseObjects(): KubeObject[] {
  return [
    {
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: {
        type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], externalIPs: ['203.0.113.1'],
        externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Cluster', sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, healthCheckNodePort: 32000,
        loadBalancerSourceRanges: ['203.0.113.0/24'],
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 30080 }],
      },
      status: { loadBalancer: { ingress: [{ ip: '198.51.100.1', ipMode: 'VIP' }] } },
    },
    {
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.1.11'], nodeName: 'node1', conditions: { ready: true, serving: true, terminating: false } },
        { addresses: ['10.244.2.11'], nodeName: 'node2', conditions: { ready: true } },
      ],
    },
    {
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.244.1.12', nodeName: 'node1' }], ports: [{ name: 'http', port: 8080 }] }],
    },
    {
      kind: 'Node',
      metadata: { name: 'node1' },
      spec: { podCIDRs: ['10.244.1.0/24'] },
      status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }] },
    },
  ] as KubeObject[];
}

type Field = [number, string[]];
const single = (index: number, paths: string[][]): Field[][] => paths.map((p) => [[index, p]]);
// Each entry is a group of fields set to the same value: some values only reach the rules when
// objects agree (a port name on the Service and on its EndpointSlice, a service name and its label).
const FIELDS: Field[][] = [
  ...single(0, [
    ['metadata', 'name'], ['metadata', 'namespace'], ['metadata', 'labels'], ['spec', 'type'], ['spec', 'clusterIP'],
    ['spec', 'clusterIPs', '0'], ['spec', 'clusterIPs'], ['spec', 'externalIPs', '0'], ['spec', 'externalTrafficPolicy'],
    ['spec', 'internalTrafficPolicy'], ['spec', 'sessionAffinity'], ['spec', 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds'],
    ['spec', 'healthCheckNodePort'], ['spec', 'loadBalancerSourceRanges', '0'], ['spec', 'ports', '0', 'name'],
    ['spec', 'ports', '0', 'port'], ['spec', 'ports', '0', 'protocol'], ['spec', 'ports', '0', 'targetPort'],
    ['spec', 'ports', '0', 'nodePort'], ['spec', 'ports'], ['status', 'loadBalancer', 'ingress', '0', 'ip'],
    ['status', 'loadBalancer', 'ingress', '0', 'ipMode'], ['status', 'loadBalancer', 'ingress', '0'],
  ]),
  ...single(1, [
    ['metadata', 'name'], ['metadata', 'namespace'], ['metadata', 'labels', 'kubernetes.io/service-name'], ['addressType'],
    ['ports', '0', 'name'], ['ports', '0', 'port'], ['ports', '0', 'protocol'], ['endpoints', '0', 'addresses', '0'],
    ['endpoints', '0', 'nodeName'], ['endpoints', '0', 'conditions', 'ready'], ['endpoints', '0', 'conditions', 'serving'],
    ['endpoints', '0', 'conditions', 'terminating'], ['endpoints', '0'], ['endpoints'], ['ports'],
  ]),
  ...single(2, [
    ['metadata', 'name'], ['subsets', '0', 'addresses', '0', 'ip'], ['subsets', '0', 'addresses', '0', 'nodeName'],
    ['subsets', '0', 'ports', '0', 'port'], ['subsets', '0', 'ports', '0', 'name'], ['subsets'],
  ]),
  ...single(3, [
    ['metadata', 'name'], ['spec', 'podCIDRs', '0'], ['status', 'addresses', '0', 'address'], ['status', 'addresses', '0', 'type'],
    ['status', 'addresses'],
  ]),
  [[0, ['metadata', 'namespace']], [1, ['metadata', 'namespace']], [2, ['metadata', 'namespace']]],
  [[0, ['metadata', 'name']], [1, ['metadata', 'labels', 'kubernetes.io/service-name']], [2, ['metadata', 'name']]],
  [[0, ['spec', 'ports', '0', 'name']], [1, ['ports', '0', 'name']], [2, ['subsets', '0', 'ports', '0', 'name']]],
  [[0, ['spec', 'ports', '0', 'protocol']], [1, ['ports', '0', 'protocol']], [2, ['subsets', '0', 'ports', '0', 'protocol']]],
  [[1, ['endpoints', '0', 'nodeName']], [3, ['metadata', 'name']]],
  [[1, ['endpoints', '1', 'nodeName']], [3, ['metadata', 'name']]],
];

function setPath(obj: any, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]] = value;
}

const nasty = fc.constantFrom(
  '10.0.0.1; flush ruleset', '10.0.0.1 }\nadd rule ip sluice services accept', '"', '}', '{', '\n', 'tcp', 'TCP\n', '@x',
  '::1', '::ffff:10.0.0.1', '10.0.0.1/8', '1e3', '0x50', '80', ' 80', 'a'.repeat(300), 'web', 'node1', 'Local', 'ClientIP',
  '0.0.0.0', '255.255.255.255', 'fe80::1%eth0', '-1', 65536, 0, -1, 1.5, NaN, Infinity, true, null, [], {}, ['10.0.0.1'],
  'IPv6', 'FQDN', 'Proxy', 'drop', '*', 'x/../y', 'kube-system', 'ep/a/b/tcp/80',
);
const anyValue = fc.oneof(nasty, fc.string(), fc.string({ unit: 'binary' }), fc.integer(), fc.double(), fc.anything());

const config = parseConfig({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.244.0.0/16' }, () => {});
const render = (objects: KubeObject[], cfg = config) => {
  const model = buildModel({
    services: objects.filter((o) => o.kind === 'Service'), endpointSlices: objects.filter((o) => o.kind === 'EndpointSlice'),
    endpoints: objects.filter((o) => o.kind === 'Endpoints'), nodes: objects.filter((o) => o.kind === 'Node'),
  }, 'node1');
  return renderRuleset(planRuleset(model, cfg));
};
const baseline = render(baseObjects());

test('the baseline renders the service it is built around', () => {
  expect(baseline).toContain('chain ext/default/web/tcp/http');
  assertShapes(baseline);
});

test('the shape check catches a line the templates never make', () => {
  expect(() => assertShapes(baseline.replace('jump services', 'jump services\n\t\tflush ruleset'))).toThrow(/unexpected line/);
  expect(() => assertShapes(baseline.replace('svc/default/web/tcp/http', 'svc/default/web/tcp/http; flush ruleset'))).toThrow(/unexpected line/);
});

test('any value in any object field renders only expected statements', () => {
  fc.assert(fc.property(fc.constantFrom(...FIELDS), anyValue, (group, value) => {
    const objects = baseObjects();
    for (const [index, path] of group) setPath(objects[index], path, value);
    const script = render(objects);
    assertShapes(script);
    expect(topLevel(script)).toBeLessThanOrEqual(topLevel(baseline));
  }), { numRuns: 5000 });
});

test('any value in a configuration field is used validated or refused with the field named', () => {
  const fields = ['clusterCIDR', 'nodePortAddresses', 'detectLocalMode', 'hostnameOverride', 'healthzBindAddress'];
  fc.assert(fc.property(fc.constantFrom(...fields, 'nftables.masqueradeBit', 'detectLocal.bridgeInterface'), anyValue, (field, value) => {
    const doc: any = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.244.0.0/16', detectLocal: {}, nftables: {} };
    const [a, b] = field.split('.');
    if (b) doc[a][b] = value; else doc[a] = value;
    if (field === 'detectLocal.bridgeInterface') doc.detectLocalMode = 'BridgeInterface';
    let cfg;
    try {
      cfg = parseConfig(doc, () => {});
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field.split('.')[0].replace(/\[.*/, '')).toBe(a === 'detectLocal' ? 'detectLocal' : field.split('.')[0]);
      return;
    }
    assertShapes(render(baseObjects(), cfg));
  }), { numRuns: 1500 });
});

test('the default configuration renders expected shapes too', () => {
  assertShapes(render(baseObjects(), DEFAULT_CONFIG));
});
