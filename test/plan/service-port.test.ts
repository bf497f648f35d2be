// The rules one service port gets, as data (lib/plan/service-port.ts): the decisions the golden files
// only show as text — which chain a Local service's pods and node short-circuit to, what is
// masqueraded, which sources a source range lets in, which endpoints may reach themselves.
import { describe, expect, test } from '@jest/globals';
import type { Endpoint, ServicePort } from '../../lib/model/types.ts';
import type { Rule } from '../../lib/nft/ir.ts';
import { planServicePort, type PlanContext } from '../../lib/plan/service-port.ts';

const NODE = 'node1';
const ctx: PlanContext = { nodeName: NODE, nodeIPs: ['172.30.0.1'], masqueradeAll: false, mark: '0x00004000', pods: { kind: 'cidr', family: 'ip', cidr: '10.244.0.0/16' } };

function ep(address: string, nodeName: string, state: 'ready' | 'serving-terminating' = 'ready'): Endpoint {
  return state === 'ready'
    ? { address, port: 8080, nodeName, ready: true, serving: true, terminating: false }
    : { address, port: 8080, nodeName, ready: false, serving: true, terminating: true };
}

function port(o: Partial<ServicePort> = {}): ServicePort {
  return {
    namespace: 'shop', name: 'web', portName: '', protocol: 'tcp', family: 4, clusterIP: '10.96.0.10', port: 80,
    externalIPs: [], loadBalancerIPs: [], sourceRanges: [], externalPolicyLocal: false, internalPolicyLocal: false,
    endpoints: [ep('10.244.1.11', NODE), ep('10.244.2.11', 'node2')], ...o,
  };
}

const targets = (rules: Rule[]) => rules.flatMap((r) => (r.op === 'dnat' || r.op === 'dnat-chance' ? [r.address] : []));
const lb = { loadBalancerIPs: ['198.51.100.1'], nodePort: 30080 };

describe('externalTrafficPolicy Local', () => {
  test('pods and the node short-circuit to the svc chain when it picks any endpoint and marks no pod', () => {
    const plan = planServicePort(port({ ...lb, externalPolicyLocal: true }), ctx);
    expect(plan.shortCircuitChain).toBeUndefined();
    expect(plan.externalChain!.rules.slice(0, 2)).toEqual([
      { op: 'goto-if-from-pods', pods: ctx.pods, chain: 'svc/shop/web/tcp/80' },
      { op: 'goto-if-from-node', mark: ctx.mark, chain: 'svc/shop/web/tcp/80' },
    ]);
    expect(targets(plan.externalChain!.rules.slice(2))).toEqual(['10.244.1.11']);
  });

  test('with internal policy Local too, they short-circuit to an all/ chain of every endpoint', () => {
    const plan = planServicePort(port({ ...lb, externalPolicyLocal: true, internalPolicyLocal: true }), ctx);
    expect(targets(plan.serviceChain!.rules)).toEqual(['10.244.1.11']);
    expect(plan.shortCircuitChain!.name).toBe('all/shop/web/tcp/80');
    expect(targets(plan.shortCircuitChain!.rules)).toEqual(['10.244.1.11', '10.244.2.11']);
    expect(plan.externalChain!.rules[0]).toEqual({ op: 'goto-if-from-pods', pods: ctx.pods, chain: 'all/shop/web/tcp/80' });
  });

  test('with masqueradeAll, the all/ chain marks nothing, while the svc chain marks everything', () => {
    const plan = planServicePort(port({ ...lb, externalPolicyLocal: true }), { ...ctx, masqueradeAll: true });
    expect(plan.serviceChain!.rules[0]).toEqual({ op: 'mark-masquerade', mark: ctx.mark });
    expect(plan.shortCircuitChain!.rules.some((r) => r.op === 'mark-masquerade')).toBe(false);
  });

  test('without a local endpoint, outside traffic is dropped; the short-circuit still has every endpoint', () => {
    const plan = planServicePort(port({ ...lb, externalPolicyLocal: true, endpoints: [ep('10.244.2.11', 'node2')] }), ctx);
    expect(plan.externalChain!.rules.at(-1)).toEqual({ op: 'drop', why: 'no-local-endpoints' });
    expect(targets(plan.serviceChain!.rules)).toEqual(['10.244.2.11']);
  });
});

describe('loadBalancerSourceRanges', () => {
  const guarded = { loadBalancerIPs: ['198.51.100.1'], sourceRanges: ['203.0.113.0/24'] };
  const allowed = (sp: ServicePort, c: PlanContext) => (planServicePort(sp, c).elements['firewall-allow'] ?? []).map((e) => e.key.at(-1));

  test('list the allowed sources per load-balancer address and port', () => {
    expect(allowed(port(guarded), ctx)).toEqual(['203.0.113.0/24']);
  });

  test('a range holding one of the node\'s addresses lets the load-balancer IP itself in (allowFromNode)', () => {
    expect(allowed(port({ ...guarded, sourceRanges: ['172.30.0.0/24'] }), ctx)).toEqual(['172.30.0.0/24', '198.51.100.1']);
    expect(allowed(port({ ...guarded, sourceRanges: ['172.30.0.0/24'] }), { ...ctx, nodeIPs: ['10.0.0.5'] })).toEqual(['172.30.0.0/24']);
  });
});

describe('hairpin and rejects', () => {
  test('every endpoint of this node some traffic can reach may reach itself, serving-terminating ones too', () => {
    const sp = port({ internalPolicyLocal: true, endpoints: [ep('10.244.1.13', NODE, 'serving-terminating'), ep('10.244.2.11', 'node2')] });
    const plan = planServicePort(sp, ctx);
    expect(targets(plan.serviceChain!.rules)).toEqual(['10.244.1.13']);
    expect(plan.hairpin).toEqual(['10.244.1.13']);
  });

  test('no usable endpoint anywhere: no chains, every front rejects', () => {
    const plan = planServicePort(port({ ...lb, endpoints: [] }), ctx);
    expect(plan.serviceChain).toBeUndefined();
    expect(plan.externalChain).toBeUndefined();
    expect(plan.elements['no-endpoint-services']!.map((e) => e.key[0])).toEqual(['10.96.0.10', '198.51.100.1']);
    expect(plan.elements['no-endpoint-nodeports']!.map((e) => e.key)).toEqual([['tcp', 30080]]);
  });
});
