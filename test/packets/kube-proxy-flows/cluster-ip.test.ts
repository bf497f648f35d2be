// kube-proxy's packet-flow tests TestClusterIPGeneral, TestNoEndpointsReject and
// TestInternalTrafficPolicy (pkg/proxy/nftables/proxier_test.go),
// with real packets through sluice's rules on node1 of the lab; flows where sluice differs are in
// known-differences.test.ts.
import { describeKubeProxyFlows } from './flows.ts';
import { withoutKnown } from './known.ts';
import { CLUSTER_IP_GROUPS } from './cluster-ip.flows.ts';

describeKubeProxyFlows('kube-proxy packet flows: TestClusterIPGeneral, TestNoEndpointsReject, TestInternalTrafficPolicy', withoutKnown([...CLUSTER_IP_GROUPS]));
