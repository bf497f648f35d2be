// kube-proxy's packet-flow tests TestInternalExternalMasquerade (pkg/proxy/nftables/proxier_test.go),
// with real packets through sluice's rules on node1 of the lab; flows where sluice differs are in
// known-differences.test.ts.
import { describeKubeProxyFlows } from './flows.ts';
import { withoutKnown } from './known.ts';
import { MASQUERADE_GROUPS } from './masquerade.flows.ts';

describeKubeProxyFlows('kube-proxy packet flows: TestInternalExternalMasquerade', withoutKnown([...MASQUERADE_GROUPS]));
