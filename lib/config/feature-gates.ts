// KubeProxyConfiguration's featureGates. kube-proxy 1.37 reads these gates (pkg/features, the ones its
// proxier and server check); sluice accepts each of them and says what it does with it. A gate it does
// not know is warned about, not an error: kube-proxy knows every Kubernetes gate, so a file written for
// it may name gates no proxy reads.
import { show } from '../model/validate.ts';

export interface GateInfo {
  /** kube-proxy 1.37's default. */
  default: boolean;
  stage: 'alpha' | 'beta' | 'GA' | 'deprecated';
  /** What sluice does, whatever the value, unless `unsupported` says otherwise. */
  sluice: string;
  /** The value sluice cannot honour: setting the gate to it is warned about. */
  unsupported?: boolean;
}

export const KUBE_PROXY_GATES: Record<string, GateInfo> = {
  KubeProxyNFTablesLocalhostNodePorts: {
    default: false, stage: 'alpha', unsupported: true,
    sluice: 'node ports are never served on loopback (a userspace proxy in kube-proxy); enabling it changes nothing yet',
  },
  NFTablesNetlink: { default: true, stage: 'beta', sluice: 'how kube-proxy talks to nf_tables; sluice always sends `nft -f` transactions' },
  KubeProxyIPVS: { default: true, stage: 'deprecated', sluice: 'allows kube-proxy\'s ipvs mode; sluice has only nftables' },
  PreferSameTrafficDistribution: {
    default: true, stage: 'GA',
    sluice: 'trafficDistribution PreferSameNode and PreferSameZone are always honoured; false is ignored',
  },
  ServiceTrafficDistribution: { default: true, stage: 'GA', sluice: 'trafficDistribution is always honoured' },
  TopologyAwareHints: { default: true, stage: 'GA', sluice: 'EndpointSlice hints are always honoured' },
  MultiCIDRServiceAllocator: { default: true, stage: 'GA', sluice: 'ServiceCIDR objects are always watched' },
  LoadBalancerIPMode: { default: true, stage: 'GA', sluice: 'no effect' },
  WinDSR: { default: true, stage: 'beta', sluice: 'Windows only' },
  WinOverlay: { default: true, stage: 'GA', sluice: 'Windows only' },
  WindowsDSR: { default: true, stage: 'beta', sluice: 'Windows only' },
  AllAlpha: { default: false, stage: 'alpha', sluice: 'no effect' },
  AllBeta: { default: false, stage: 'beta', sluice: 'no effect' },
};

/** The gates as given, validated; those sluice does not know are kept (for /configz) after a warning. */
export function parseFeatureGates(v: any, path: string, warn: (msg: string) => void, fail: (field: string, message: string) => never): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  if (v === undefined || v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) fail(path, 'is not a map of gate names to true or false');
  for (const [name, value] of Object.entries(v)) {
    if (typeof value !== 'boolean') fail(`${path}.${name}`, `${show(value)} is not true or false`);
    out[name] = value;
    const gate = KUBE_PROXY_GATES[name];
    if (!gate) warn(`config: feature gate ${show(name)} is not one kube-proxy 1.37 reads; ignored`);
    else if (gate.unsupported && value !== gate.default) warn(`config: feature gate ${name}=${value} is not supported: ${gate.sluice}`);
    else if (name === 'PreferSameTrafficDistribution' && value === false) warn(`config: feature gate ${name}=false ignored: ${gate.sluice}`);
  }
  return out;
}
