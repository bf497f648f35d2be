// kube-proxy's packet-flow tests TestLoadBalancer and TestNodePorts (pkg/proxy/nftables/proxier_test.go),
// with real packets through sluice's rules on node1 of the lab; flows where sluice differs are in
// known-differences.test.ts.
import { describeKubeProxyFlows } from './flows.ts';
import { withoutKnown } from './known.ts';
import { LOAD_BALANCER_GROUPS, NODE_PORT_GROUPS } from './load-balancer.flows.ts';

describeKubeProxyFlows('kube-proxy packet flows: TestLoadBalancer, TestNodePorts', withoutKnown([...LOAD_BALANCER_GROUPS, ...NODE_PORT_GROUPS]));
