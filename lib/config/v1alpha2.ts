// kubeproxy.config.k8s.io/v1alpha2 into the v1alpha1 shape parseConfig reads, as kube-proxy converts
// both into one internal config (KEP-784). What moved: conntrack, oomScoreAdj and masqueradeAll into
// `linux`; syncPeriod and minSyncPeriod to the top (from nftables); clusterCIDR became
// detectLocal.clusterCIDRs (a list); bindAddress became nodeIPOverride (a list); healthz and metrics
// addresses became CIDR lists plus a port; windowsRunAsService became windows.runAsService;
// configHardFail and ipvs.masqueradeBit are new; portRange is gone.
import { parseCIDR } from '../model/ip.ts';
import { show } from '../model/validate.ts';

export const V1ALPHA2 = 'kubeproxy.config.k8s.io/v1alpha2';

export interface Converted {
  /** A v1alpha1 document with the same meaning. */
  doc: Record<string, any>;
  /** v1alpha1 field → the v1alpha2 field it came from, so that errors name what the file says. */
  renames: Record<string, string>;
}

const TOP = new Set([
  'apiVersion', 'kind', 'featureGates', 'clientConnection', 'logging', 'hostnameOverride', 'nodeIPOverride',
  'healthzBindAddresses', 'healthzBindPort', 'metricsBindAddresses', 'metricsBindPort', 'bindAddressHardFail',
  'enableProfiling', 'showHiddenMetricsForVersion', 'mode', 'iptables', 'ipvs', 'nftables', 'winkernel', 'linux',
  'windows', 'detectLocalMode', 'detectLocal', 'nodePortAddresses', 'syncPeriod', 'minSyncPeriod',
  'configSyncPeriod', 'configHardFail',
  // sluice's own extensions, the same in both versions.
  'serviceCIDRs', 'serviceProxyName', 'loadBalancing',
]);
// Copied as they are: same name and meaning in both versions.
const SAME = ['featureGates', 'clientConnection', 'logging', 'hostnameOverride', 'bindAddressHardFail', 'enableProfiling',
  'showHiddenMetricsForVersion', 'mode', 'iptables', 'ipvs', 'winkernel', 'detectLocalMode', 'nodePortAddresses',
  'configSyncPeriod', 'serviceCIDRs', 'serviceProxyName', 'loadBalancing'];
const KNOWN_LINUX = new Set(['conntrack', 'masqueradeAll', 'oomScoreAdj']);
const KNOWN_NFTABLES = new Set(['masqueradeBit']);
const KNOWN_DETECT_LOCAL = new Set(['bridgeInterface', 'interfaceNamePrefix', 'clusterCIDRs']);
const KNOWN_WINDOWS = new Set(['runAsService']);

const obj = (v: any, field: string, fail: (f: string, m: string) => never): Record<string, any> => {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(field, 'is not an object');
  return v;
};

export function convertV1alpha2(d: Record<string, any>, warn: (msg: string) => void, fail: (field: string, message: string) => never): Converted {
  for (const k of Object.keys(d)) if (!TOP.has(k)) warn(`config: unknown field ${show(k)} ignored`);
  const doc: Record<string, any> = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: d.kind };
  const renames: Record<string, string> = {};
  for (const k of SAME) if (d[k] !== undefined) doc[k] = d[k];

  const linux = obj(d.linux, 'linux', fail);
  for (const k of Object.keys(linux)) if (!KNOWN_LINUX.has(k)) warn(`config: unknown field linux.${k} ignored`);
  if (linux.conntrack !== undefined) doc.conntrack = linux.conntrack;
  if (linux.oomScoreAdj !== undefined) doc.oomScoreAdj = linux.oomScoreAdj;
  renames.conntrack = 'linux.conntrack';
  renames.oomScoreAdj = 'linux.oomScoreAdj';

  const nft = obj(d.nftables, 'nftables', fail);
  for (const k of Object.keys(nft)) if (!KNOWN_NFTABLES.has(k)) warn(`config: unknown field nftables.${k} ignored`);
  doc.nftables = {
    ...(nft.masqueradeBit !== undefined ? { masqueradeBit: nft.masqueradeBit } : {}),
    ...(linux.masqueradeAll !== undefined ? { masqueradeAll: linux.masqueradeAll } : {}),
    ...(d.syncPeriod !== undefined ? { syncPeriod: d.syncPeriod } : {}),
    ...(d.minSyncPeriod !== undefined ? { minSyncPeriod: d.minSyncPeriod } : {}),
  };
  Object.assign(renames, { 'nftables.masqueradeAll': 'linux.masqueradeAll', 'nftables.syncPeriod': 'syncPeriod', 'nftables.minSyncPeriod': 'minSyncPeriod' });

  const dl = obj(d.detectLocal, 'detectLocal', fail);
  for (const k of Object.keys(dl)) if (!KNOWN_DETECT_LOCAL.has(k)) warn(`config: unknown field detectLocal.${k} ignored`);
  doc.detectLocal = { bridgeInterface: dl.bridgeInterface, interfaceNamePrefix: dl.interfaceNamePrefix };
  if (dl.clusterCIDRs !== undefined && dl.clusterCIDRs !== null) {
    if (!Array.isArray(dl.clusterCIDRs) || dl.clusterCIDRs.some((c: unknown) => typeof c !== 'string')) fail('detectLocal.clusterCIDRs', 'is not a list of CIDRs');
    doc.clusterCIDR = dl.clusterCIDRs.join(',');
  }
  renames.clusterCIDR = 'detectLocal.clusterCIDRs';

  if (d.nodeIPOverride !== undefined && d.nodeIPOverride !== null) {
    if (!Array.isArray(d.nodeIPOverride) || d.nodeIPOverride.length > 2) fail('nodeIPOverride', 'is not a list of at most two IP addresses');
    doc.bindAddress = d.nodeIPOverride.join(',');
  }
  renames.bindAddress = 'nodeIPOverride';

  const windows = obj(d.windows, 'windows', fail);
  for (const k of Object.keys(windows)) if (!KNOWN_WINDOWS.has(k)) warn(`config: unknown field windows.${k} ignored`);
  if (windows.runAsService !== undefined) doc.windowsRunAsService = windows.runAsService;

  if (d.configHardFail === false) warn('config: configHardFail false ignored: sluice always stops on an invalid configuration');
  else if (d.configHardFail !== undefined && d.configHardFail !== null && d.configHardFail !== true) fail('configHardFail', `${show(d.configHardFail)} is not true or false`);

  for (const [name, defaultCIDRs, defaultPort] of [['healthz', ['0.0.0.0/0', '::/0'], 10256], ['metrics', ['127.0.0.0/8', '::1/128'], 10249]] as const) {
    const cidrsField = `${name}BindAddresses`, portField = `${name}BindPort`;
    const port = d[portField] ?? defaultPort;
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(portField, `${show(port)} is not a port number`);
    const cidrs = d[cidrsField] ?? defaultCIDRs;
    if (!Array.isArray(cidrs)) fail(cidrsField, 'is not a list of CIDRs');
    doc[`${name}BindAddress`] = bindAddressOf(cidrs.length ? cidrs : defaultCIDRs, cidrsField, fail) + `:${port}`;
    renames[`${name}BindAddress`] = cidrsField;
  }
  return { doc, renames };
}

/**
 * kube-proxy listens on each node address the CIDRs cover; sluice's servers listen on one address:
 * every address when a CIDR covers a whole family, the loopback address for the loopback ranges, the
 * address itself for a single-address CIDR. Other ranges would need the node's interface addresses
 * at start and are refused rather than guessed.
 */
function bindAddressOf(cidrs: readonly unknown[], field: string, fail: (f: string, m: string) => never): string {
  const parsed = cidrs.map((c, i) => parseCIDR(c) ?? fail(`${field}[${i}]`, `${show(c)} is not a CIDR`));
  if (parsed.some((c) => c.prefix === 0)) {
    // Both families, or only IPv6's ::/0: Node's unspecified address (IPv6 and IPv4 where IPv6 is on).
    return parsed.some((c) => c.prefix === 0 && c.family === 6) ? '' : '0.0.0.0';
  }
  const v4 = parsed.filter((c) => c.family === 4);
  const loopback = (c: { cidr: string }) => c.cidr === '127.0.0.0/8' || c.cidr === '::1/128';
  if (parsed.every(loopback)) return v4.length ? '127.0.0.1' : '[::1]';
  const single = parsed.filter((c) => c.prefix === (c.family === 4 ? 32 : 128));
  if (single.length === 1 && parsed.length === 1) return single[0].family === 4 ? single[0].address : `[${single[0].address}]`;
  fail(field, `${parsed.map((c) => c.cidr).join(', ')}: sluice listens on one address: give 0.0.0.0/0 and ::/0 (every address), the loopback ranges, or one /32 or /128`);
}
