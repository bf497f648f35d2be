// The trace read off the lab cluster's plan: verdicts, chances, masquerade and reasons; the input
// checks; and a rule op without semantics failing loudly. No kernel needed.
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/kube-proxy-config.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import type { FamilyRuleset, Rule } from '../../lib/nft/ir.ts';
import { planFromStore } from '../../lib/render.ts';
import { parseDestination, TraceInputError } from '../../lib/trace/packet.ts';
import { applyRule } from '../../lib/trace/rule-ops.ts';
import { traceRequest } from '../../lib/trace/trace.ts';
import { FIXTURES } from '../support/render-case.ts';
import { plannedCase } from './planned-case.ts';

const lab = plannedCase(join(FIXTURES, 'lab-cluster'));
const trace = (to: string, via?: string, src?: string) => traceRequest(lab, { to, via, src });
const chances = (t: ReturnType<typeof trace>) => Object.fromEntries(t.endpoints.map((e) => [`${e.address}:${e.port}`, Math.round(e.chance * 1000) / 1000]));

test('a cluster IP from outside: each endpoint a quarter, masqueraded, through svc/', () => {
  const t = trace('10.96.0.1:80');
  expect(t.verdict).toBe('dnat');
  expect(chances(t)).toEqual({ '10.244.1.11:9376': 0.25, '10.244.1.12:9376': 0.25, '10.244.2.11:9376': 0.25, '10.244.2.12:9376': 0.25 });
  expect(t.masquerade).toBe(true);
  expect(t.chain).toEqual(['filter-prerouting', 'nat-prerouting', 'services', 'svc/lab/spread/tcp/80', 'filter-prerouting-post-dnat', 'nat-postrouting']);
});

test('a pod keeps its address, except toward itself (hairpin)', () => {
  const t = trace('10.96.0.1:80', 'pod', '10.244.1.12');
  expect(t.masquerade).toBe(false);
  expect(Object.fromEntries(t.endpoints.map((e) => [e.address, e.masquerade]))).toEqual({ '10.244.1.11': false, '10.244.1.12': true, '10.244.2.11': false, '10.244.2.12': false });
  expect(t.paths.find((p) => p.endpoint?.address === '10.244.1.12')!.masqueradeReason).toMatch(/^hairpin/);
});

test('rejects and drops say why', () => {
  expect([trace('10.96.0.1:81').verdict, trace('10.96.0.1:81').reason]).toEqual(['reject', expect.stringMatching(/^undefined port: 10.96.0.1 is a cluster IP/)]);
  expect(trace('10.96.0.6:53/udp').reason).toMatch(/^no endpoints: lab\/empty port dns .* ICMP port unreachable/);
  expect(trace('172.30.0.1:30066').reason).toMatch(/^no endpoints: .*TCP reset/);
  expect(trace('198.51.100.2:80', 'external', '172.30.0.101')).toMatchObject({ verdict: 'drop', reason: expect.stringMatching(/^source range: 172.30.0.101/) });
  expect(trace('198.51.100.2:80', 'external', '172.30.0.100').verdict).toBe('dnat');
  expect(trace('172.30.0.1:30064')).toMatchObject({ verdict: 'drop', reason: expect.stringMatching(/^no local endpoints: lab\/local-elsewhere has externalTrafficPolicy Local/) });
  expect(trace('10.96.2.2:80', 'pod')).toMatchObject({ verdict: 'drop', reason: expect.stringMatching(/internalTrafficPolicy Local/) });
  expect(trace('192.0.2.1:80')).toMatchObject({ verdict: 'accept', reason: 'not a service address: accept', endpoints: [] });
});

test('externalTrafficPolicy Local: outside only to the local endpoint with its source; the node to any, masqueraded', () => {
  const outside = trace('172.30.0.1:30063');
  expect([chances(outside), outside.masquerade]).toEqual([{ '10.244.1.11:9376': 1 }, false]);
  const node = trace('172.30.0.1:30063', 'node');
  expect(Object.keys(chances(node)).sort()).toEqual(['10.244.1.11:9376', '10.244.2.11:9376', '10.244.2.12:9376']);
  expect([node.masquerade, node.masqueradeReason]).toEqual([true, expect.stringMatching(/^from the node itself/)]);
});

test('affinity is named, IPv6 works, a node port is not served on loopback', () => {
  expect(trace('10.96.2.3:80').affinity?.timeoutSeconds).toBe(300);
  expect(Object.keys(chances(trace('[fd00:96::3:1]:80', 'pod')))).toEqual(['fd00:244:1::12:9376', 'fd00:244:2::12:9376']);
  expect(trace('127.0.0.1:30061', 'node').verdict).toBe('accept');
});

test('an address of the service CIDRs no Service has is dropped', () => {
  const config = parseConfig({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', hostnameOverride: 'node1', serviceCIDRs: ['10.96.0.0/12'] }, () => {});
  const { model, ruleset } = planFromStore(loadManifests(join(FIXTURES, 'lab-cluster', 'manifests')).store, config, 'node1');
  expect(traceRequest({ model, ruleset, config }, { to: '10.96.9.9:80' })).toMatchObject({ verdict: 'drop', reason: expect.stringMatching(/^unallocated service IP/) });
});

test('--to, --src and --via are checked', () => {
  expect(parseDestination('[fd00::1]:53/udp')).toEqual({ family: 6, daddr: 'fd00::1', dport: 53, proto: 'udp' });
  for (const bad of ['10.96.0.1', '10.96.0.1:0', '10.96.0.1:80/icmp', 'fd00::1:80', 'x;rm:80', '10.96.0.1:80 ']) {
    expect(() => parseDestination(bad)).toThrow(TraceInputError);
  }
  expect(() => trace('10.96.0.1:80', 'external', 'fd00::1')).toThrow(TraceInputError);
  expect(() => trace('10.96.0.1:80', 'sideways')).toThrow(TraceInputError);
});

test('a rule op the trace does not know fails loudly', () => {
  expect(() => applyRule({ op: 'teleport' } as unknown as Rule, { saddr: '1.2.3.4', fromPods: false, podDetection: '', fromNode: false }, {} as FamilyRuleset)).toThrow(/no semantics for rule op "teleport"/);
});
