// fast-check generators for the transition test: a configuration, a starting cluster, and steps.
// `exclude` leaves kinds of change out (the change ops of cluster.ts, 'config', 'hour', and
// 'affinity' for no ClientIP affinity anywhere, 'podCIDR' for node1's pod CIDRs never changing): for looking past a known failure, never for CI.
import fc from 'fast-check';
import {
  SERVICES, type Change, type ClusterState, type ConfigSpec, type EndpointSpec, type NodeSpec, type PortSpec,
  type Sequence, type ServiceSpec, type Step,
} from './cluster.ts';

const svcIndex = fc.integer({ min: 0, max: SERVICES.length - 1 });
const families = fc.constantFrom('v4', 'v6', 'dual', 'dual6' as const);
const serviceType = fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer' as const);
const policy = fc.constantFrom('Cluster', 'Local' as const);
const indexes = (max: number, maxLength: number) => fc.uniqueArray(fc.integer({ min: 0, max }), { maxLength });

const ports: fc.Arbitrary<PortSpec[]> = fc.oneof(
  fc.tuple(fc.boolean()).map(([np]) => [{ name: 'http' as const, nodePort: np }]),
  fc.tuple(fc.boolean()).map(([np]) => [{ name: 'dns' as const, nodePort: np }]),
  fc.tuple(fc.boolean(), fc.boolean()).map(([a, b]) => [{ name: 'http' as const, nodePort: a }, { name: 'dns' as const, nodePort: b }]),
);

const timeout = fc.constantFrom(60, 300, 10800, 86400);

export function arbitraries(exclude: ReadonlySet<string>) {
  const affinity: fc.Arbitrary<number | 'default' | null> = exclude.has('affinity')
    ? fc.constant(null)
    : fc.oneof(fc.constant(null), fc.constant('default' as const), timeout);

  const service: fc.Arbitrary<ServiceSpec> = fc.record({
    families, ipVariant: fc.constantFrom(0, 1 as const), type: serviceType, ports, affinity, itp: policy, etp: policy,
    lb: indexes(3, 2), ext: indexes(3, 2), ranges: indexes(5, 3),
  });

  const endpoint: fc.Arbitrary<EndpointSpec> = fc.record({
    node: fc.constantFrom(1, 2, 0 as const),
    cond: fc.constantFrom('ready', 'unready', 'term-serving', 'term-gone' as const),
  });
  // Counts on both sides of the 16-endpoint cascade/map threshold (0-3 and 15-20), mostly ready.
  const mostlyReady: fc.Arbitrary<EndpointSpec> = fc.oneof({ arbitrary: endpoint, weight: 1 },
    { arbitrary: fc.record({ node: fc.constantFrom(1, 2 as const), cond: fc.constant('ready' as const) }), weight: 3 });
  // Cross-shrinking: a failing long list shrinks to a short one when that fails too.
  const endpointList: fc.Arbitrary<EndpointSpec[]> = fc.oneof(
    { withCrossShrink: true },
    fc.array(endpoint, { maxLength: 3 }),
    fc.array(mostlyReady, { minLength: 15, maxLength: 20 }),
  );
  const slice = fc.option(endpointList, { nil: null, freq: 5 });

  // 'podCIDR' excluded: node1 is always there with one pod CIDR (only its InternalIPs change).
  const node: fc.Arbitrary<NodeSpec | null> = exclude.has('podCIDR')
    ? fc.record({ ips: indexes(2, 2), cidrs: fc.constant([0]) })
    : fc.option(fc.record({ ips: indexes(2, 2), cidrs: indexes(2, 2) }), { nil: null, freq: 6 });

  const config: fc.Arbitrary<ConfigSpec> = fc.record({
    masqueradeAll: fc.boolean(),
    detectLocalMode: fc.constantFrom('ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix' as const),
    clusterCIDR: fc.integer({ min: 0, max: 2 }),
    nodePortAddresses: fc.integer({ min: 0, max: 2 }),
  });

  const initial: fc.Arbitrary<ClusterState> = fc.record({
    services: fc.array(fc.option(service, { nil: null, freq: 4 }), { minLength: 4, maxLength: 4 }),
    slices: fc.array(fc.record({ v4: slice, v6: slice }), { minLength: 4, maxLength: 4 }),
    node,
  });

  const changeKinds: [string, fc.Arbitrary<Change>][] = [
    ['put', fc.record({ op: fc.constant('put' as const), svc: svcIndex, spec: service })],
    ['delete', fc.record({ op: fc.constant('delete' as const), svc: svcIndex })],
    ['type', fc.record({ op: fc.constant('type' as const), svc: svcIndex, type: serviceType })],
    ['affinity', fc.record({ op: fc.constant('affinity' as const), svc: svcIndex, affinity })],
    ['affinityTimeout', fc.record({ op: fc.constant('affinityTimeout' as const), svc: svcIndex, timeout })],
    ['policies', fc.record({ op: fc.constant('policies' as const), svc: svcIndex, itp: policy, etp: policy })],
    ['ports', fc.record({ op: fc.constant('ports' as const), svc: svcIndex, ports })],
    ['fronts', fc.record({ op: fc.constant('fronts' as const), svc: svcIndex, lb: indexes(3, 2), ext: indexes(3, 2) })],
    ['ranges', fc.record({ op: fc.constant('ranges' as const), svc: svcIndex, ranges: indexes(5, 3) })],
    ['families', fc.record({ op: fc.constant('families' as const), svc: svcIndex, families })],
    ['endpoints', fc.record({ op: fc.constant('endpoints' as const), svc: svcIndex, family: fc.constantFrom('v4', 'v6' as const), endpoints: slice })],
    ['endpoint', fc.record({ op: fc.constant('endpoint' as const), svc: svcIndex, family: fc.constantFrom('v4', 'v6' as const), index: fc.nat(19), endpoint })],
    ['node', fc.record({ op: fc.constant('node' as const), node })],
  ];
  // Endpoint changes are the most common in a cluster: they weigh more.
  const weights: Record<string, number> = { endpoints: 4, endpoint: 3 };
  const kinds = changeKinds.filter(([k]) => !exclude.has(k) && !(k === 'affinityTimeout' && exclude.has('affinity')));
  const change = fc.oneof(...kinds.map(([k, arbitrary]) => ({ arbitrary, weight: weights[k] ?? 1 })));

  const stepKinds: { arbitrary: fc.Arbitrary<Step>; weight: number }[] = [
    { arbitrary: fc.array(change, { minLength: 1, maxLength: 3 }).map((changes) => ({ changes })), weight: 12 },
  ];
  if (!exclude.has('config')) stepKinds.push({ arbitrary: config.map((c) => ({ config: c })), weight: 1 });
  if (!exclude.has('hour')) stepKinds.push({ arbitrary: fc.constant({ hour: true as const }), weight: 1 });
  const step = fc.oneof(...stepKinds);

  return {
    config, initial, step,
    sequence: (maxSteps: number): fc.Arbitrary<Sequence> =>
      fc.record({ config, initial, steps: fc.array(step, { minLength: 1, maxLength: maxSteps }) }),
  };
}
