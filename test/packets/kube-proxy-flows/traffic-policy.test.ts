// kube-proxy's packet-flow tests TestExternalTrafficPolicyLocal/Cluster and
// TestTerminatingEndpointsTrafficPolicyLocal/Cluster (pkg/proxy/nftables/proxier_test.go),
// with real packets through sluice's rules on node1 of the lab; flows where sluice differs are in
// known-differences.test.ts.
import { describeKubeProxyFlows } from './flows.ts';
import { withoutKnown } from './known.ts';
import { EXTERNAL_POLICY_GROUPS, TERMINATING_GROUPS } from './traffic-policy.flows.ts';

describeKubeProxyFlows('kube-proxy packet flows: TestExternalTrafficPolicyLocal/Cluster, TestTerminatingEndpointsTrafficPolicyLocal/Cluster', withoutKnown([...EXTERNAL_POLICY_GROUPS, ...TERMINATING_GROUPS]));
