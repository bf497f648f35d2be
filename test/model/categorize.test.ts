// categorizeEndpoints against kube-proxy's CategorizeEndpoints (pkg/proxy/topology.go) without
// topology hints: which endpoints policy Cluster and policy Local traffic use on this node.
import { describe, expect, test } from '@jest/globals';
import { categorizeEndpoints, isExternallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../../lib/model/categorize.ts';
import type { Endpoint, ServicePort } from '../../lib/model/types.ts';

const NODE = 'node1';

type State = 'ready' | 'serving-terminating' | 'terminating' | 'not-ready';
function ep(address: string, nodeName: string | undefined, state: State): Endpoint {
  const conditions = {
    'ready': { ready: true, serving: true, terminating: false },
    'serving-terminating': { ready: false, serving: true, terminating: true },
    'terminating': { ready: false, serving: false, terminating: true },
    'not-ready': { ready: false, serving: false, terminating: false },
  }[state];
  return { address, port: 8080, nodeName, ...conditions };
}

function port(endpoints: Endpoint[], o: Partial<ServicePort> = {}): ServicePort {
  return {
    namespace: 'shop', name: 'web', portName: 'http', protocol: 'tcp', family: 4, clusterIP: '10.96.0.10', port: 80,
    externalIPs: [], loadBalancerIPs: [], sourceRanges: [], externalPolicyLocal: false, internalPolicyLocal: false,
    endpoints, ...o,
  };
}

const addresses = (eps: Endpoint[]) => eps.map((e) => e.address);
const categorized = (sp: ServicePort) => {
  const c = categorizeEndpoints(sp, NODE);
  return { cluster: addresses(c.cluster), local: addresses(c.local), reachable: addresses(c.reachable), hasAny: c.hasAny, localReady: c.localReady.length };
};

const external = { nodePort: 30080 };
const policyLocal = { internalPolicyLocal: true, externalPolicyLocal: true };

describe('cluster endpoints (policy Cluster)', () => {
  test('are the ready ones, anywhere; terminating ones are left out while any is ready', () => {
    const sp = port([ep('10.0.1.1', NODE, 'ready'), ep('10.0.1.2', NODE, 'serving-terminating'), ep('10.0.2.1', 'node2', 'ready'), ep('10.0.2.2', 'node2', 'not-ready')]);
    expect(categorized(sp)).toEqual({ cluster: ['10.0.1.1', '10.0.2.1'], local: [], reachable: ['10.0.1.1', '10.0.2.1'], hasAny: true, localReady: 1 });
  });

  test('fall back to the serving-terminating ones when none is ready anywhere, never to the ones no longer serving', () => {
    const sp = port([ep('10.0.1.2', NODE, 'serving-terminating'), ep('10.0.2.2', 'node2', 'serving-terminating'), ep('10.0.2.3', 'node2', 'terminating'), ep('10.0.2.4', 'node2', 'not-ready')]);
    expect(categorized(sp)).toEqual({ cluster: ['10.0.1.2', '10.0.2.2'], local: [], reachable: ['10.0.1.2', '10.0.2.2'], hasAny: true, localReady: 0 });
  });

  test('are empty, and hasAny false, when nothing is ready or serving', () => {
    const sp = port([ep('10.0.2.3', 'node2', 'terminating'), ep('10.0.2.4', NODE, 'not-ready')]);
    expect(categorized(sp)).toEqual({ cluster: [], local: [], reachable: [], hasAny: false, localReady: 0 });
    expect(categorized(port([]))).toEqual({ cluster: [], local: [], reachable: [], hasAny: false, localReady: 0 });
  });
});

describe('local endpoints (policy Local), categorized on their own', () => {
  test('are this node\'s ready ones', () => {
    const sp = port([ep('10.0.1.1', NODE, 'ready'), ep('10.0.1.2', NODE, 'serving-terminating'), ep('10.0.2.1', 'node2', 'ready')], { internalPolicyLocal: true });
    expect(categorized(sp)).toEqual({ cluster: [], local: ['10.0.1.1'], reachable: ['10.0.1.1'], hasAny: true, localReady: 1 });
  });

  test('fall back to this node\'s serving-terminating ones when none of this node\'s is ready, though other nodes have ready ones', () => {
    const sp = port([ep('10.0.1.2', NODE, 'serving-terminating'), ep('10.0.1.3', NODE, 'terminating'), ep('10.0.2.1', 'node2', 'ready')], { internalPolicyLocal: true });
    expect(categorized(sp)).toEqual({ cluster: [], local: ['10.0.1.2'], reachable: ['10.0.1.2'], hasAny: true, localReady: 0 });
  });

  test('are empty when this node has none, yet hasAny says another node has', () => {
    const sp = port([ep('10.0.2.1', 'node2', 'ready'), ep('10.0.2.2', undefined, 'ready')], { internalPolicyLocal: true });
    expect(categorized(sp)).toEqual({ cluster: [], local: [], reachable: [], hasAny: true, localReady: 0 });
  });

  test('hasAny counts a serving-terminating endpoint elsewhere, not one that stopped serving', () => {
    expect(categorized(port([ep('10.0.2.2', 'node2', 'serving-terminating')], { internalPolicyLocal: true })).hasAny).toBe(true);
    expect(categorized(port([ep('10.0.2.3', 'node2', 'terminating')], { internalPolicyLocal: true })).hasAny).toBe(false);
  });
});

describe('both policies on one port', () => {
  test('local serving-terminating while remote ones are ready: cluster has the ready ones, local the terminating, reachable both', () => {
    // Internal Cluster, external Local on a node port: pods use cluster endpoints, outside traffic local ones.
    const sp = port([ep('10.0.1.2', NODE, 'serving-terminating'), ep('10.0.2.1', 'node2', 'ready'), ep('10.0.2.2', 'node2', 'ready')], { externalPolicyLocal: true, ...external });
    expect(categorized(sp)).toEqual({
      cluster: ['10.0.2.1', '10.0.2.2'], local: ['10.0.1.2'], reachable: ['10.0.1.2', '10.0.2.1', '10.0.2.2'], hasAny: true, localReady: 0,
    });
  });

  test('local ready ones are among the cluster ones: reachable is the cluster list', () => {
    const sp = port([ep('10.0.1.1', NODE, 'ready'), ep('10.0.2.1', 'node2', 'ready')], { externalPolicyLocal: true, ...external });
    expect(categorized(sp)).toEqual({ cluster: ['10.0.1.1', '10.0.2.1'], local: ['10.0.1.1'], reachable: ['10.0.1.1', '10.0.2.1'], hasAny: true, localReady: 1 });
  });

  test('internal and external Local, externally accessible: cluster endpoints too, for the short-circuit of pods and the node', () => {
    const eps = [ep('10.0.1.1', NODE, 'ready'), ep('10.0.2.1', 'node2', 'ready')];
    for (const access of [external, { loadBalancerIPs: ['192.0.2.10'] }, { externalIPs: ['198.51.100.7'] }]) {
      const sp = port(eps, { ...policyLocal, ...access });
      expect(usesClusterEndpoints(sp)).toBe(true);
      expect(categorized(sp)).toEqual({ cluster: ['10.0.1.1', '10.0.2.1'], local: ['10.0.1.1'], reachable: ['10.0.1.1', '10.0.2.1'], hasAny: true, localReady: 1 });
    }
    // Not reachable from outside: internal Local alone, no cluster endpoints.
    expect(categorized(port(eps, policyLocal))).toEqual({ cluster: [], local: ['10.0.1.1'], reachable: ['10.0.1.1'], hasAny: true, localReady: 1 });
  });

  test('external Local without external access uses no local endpoints', () => {
    const sp = port([ep('10.0.1.1', NODE, 'ready'), ep('10.0.2.1', 'node2', 'ready')], { externalPolicyLocal: true });
    expect(usesLocalEndpoints(sp)).toBe(false);
    expect(categorized(sp)).toEqual({ cluster: ['10.0.1.1', '10.0.2.1'], local: [], reachable: ['10.0.1.1', '10.0.2.1'], hasAny: true, localReady: 1 });
  });

  test('cluster and local fall back independently: none ready anywhere, both get the serving-terminating ones', () => {
    const sp = port([ep('10.0.1.2', NODE, 'serving-terminating'), ep('10.0.2.2', 'node2', 'serving-terminating')], { externalPolicyLocal: true, ...external });
    expect(categorized(sp)).toEqual({ cluster: ['10.0.1.2', '10.0.2.2'], local: ['10.0.1.2'], reachable: ['10.0.1.2', '10.0.2.2'], hasAny: true, localReady: 0 });
  });
});

describe('localReady', () => {
  test('counts this node\'s ready endpoints whatever the policies, never terminating or other nodes\' ones', () => {
    const eps = [ep('10.0.1.1', NODE, 'ready'), ep('10.0.1.2', NODE, 'ready'), ep('10.0.1.3', NODE, 'serving-terminating'), ep('10.0.1.4', NODE, 'not-ready'), ep('10.0.2.1', 'node2', 'ready'), ep('10.0.3.1', undefined, 'ready')];
    for (const o of [{}, policyLocal, { ...policyLocal, ...external }]) expect(categorizeEndpoints(port(eps, o), NODE).localReady.map((e) => e.address)).toEqual(['10.0.1.1', '10.0.1.2']);
    expect(categorizeEndpoints(port(eps), 'node2').localReady.map((e) => e.address)).toEqual(['10.0.2.1']);
  });
});

describe('isExternallyAccessible', () => {
  test('a node port, a load-balancer IP or an external IP', () => {
    expect(isExternallyAccessible(port([]))).toBe(false);
    expect(isExternallyAccessible(port([], external))).toBe(true);
    expect(isExternallyAccessible(port([], { loadBalancerIPs: ['192.0.2.10'] }))).toBe(true);
    expect(isExternallyAccessible(port([], { externalIPs: ['198.51.100.7'] }))).toBe(true);
  });
});
