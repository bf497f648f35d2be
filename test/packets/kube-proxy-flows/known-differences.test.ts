// The flows of kube-proxy's packet-flow tests where sluice differs (known.ts says how), as
// test.failing: each fails today, and reports a failure once sluice behaves as kube-proxy expects.
// With every flow of proxier_test.go's runPacketFlowTests passing, the list is empty for now.
import { describeKubeProxyFlows } from './flows.ts';
import { KNOWN_DIFFERENCES, onlyKnown } from './known.ts';
import { CLUSTER_IP_GROUPS } from './cluster-ip.flows.ts';
import { LOAD_BALANCER_GROUPS, NODE_PORT_GROUPS } from './load-balancer.flows.ts';
import { MASQUERADE_GROUPS } from './masquerade.flows.ts';
import { EXTERNAL_POLICY_GROUPS, TERMINATING_GROUPS } from './traffic-policy.flows.ts';

const all = [...CLUSTER_IP_GROUPS, ...LOAD_BALANCER_GROUPS, ...NODE_PORT_GROUPS, ...EXTERNAL_POLICY_GROUPS, ...TERMINATING_GROUPS, ...MASQUERADE_GROUPS];

// A stale entry would silently drop nothing from the regular files and test nothing here.
test('every known difference names a flow of kube-proxy\'s tests', () => {
  const stale = KNOWN_DIFFERENCES.filter((k) => !all.some((g) => g.title === k.group && g.flows.some((f) => f.name === k.flow)));
  expect(stale).toEqual([]);
});

test('every known difference says why', () => {
  expect(KNOWN_DIFFERENCES.filter((k) => k.why.trim() === '')).toEqual([]);
});

const known = onlyKnown(all);
if (known.length > 0) describeKubeProxyFlows('kube-proxy packet flows where sluice differs', known, { known: true });
