// KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1): the file kube-proxy users already have.
// sluice reads the fields that matter to an nftables proxy; unknown fields are warned about, invalid
// values are errors naming the field.
import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { cidrContains, parseCIDR, parseIP, type ParsedCIDR } from '../model/ip.ts';
import { isDNS1123Subdomain, show } from '../model/validate.ts';
import { parseDuration } from './duration.ts';
import { DEFAULT_LOAD_BALANCING, parseLoadBalancing, type LoadBalancing } from './load-balancing.ts';

export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';

export interface ProxyConfig {
  hostnameOverride?: string;
  clusterCIDRs: ParsedCIDR[];
  /**
   * sluice's extension: the service CIDRs of a cluster without ServiceCIDR objects (before Kubernetes
   * 1.33), what kube-apiserver's --service-cluster-ip-range says. Unused while ServiceCIDRs exist.
   */
  serviceCIDRs: ParsedCIDR[];
  /** 'primary' stands for this node's InternalIPs; 'localhost' (kube-proxy 1.37) serves TCP node ports on
   * 127.0.0.1 and ::1 through a userspace proxy (lib/serve/localhost-nodeports.ts), never in the rules. */
  nodePortAddresses: ('primary' | 'localhost' | ParsedCIDR)[];
  detectLocalMode: DetectLocalMode;
  bridgeInterface?: string;
  interfaceNamePrefix?: string;
  masqueradeAll: boolean;
  masqueradeBit: number;
  syncPeriodMs: number;
  minSyncPeriodMs: number;
  healthzBindAddress: string;
  metricsBindAddress: string;
  /** sluice's extension: how service chains pick an endpoint, random or Maglev (load-balancing.ts). */
  loadBalancing: LoadBalancing;
}

export const DEFAULT_CONFIG: ProxyConfig = {
  clusterCIDRs: [],
  serviceCIDRs: [],
  nodePortAddresses: ['primary'],
  detectLocalMode: 'ClusterCIDR',
  masqueradeAll: false,
  masqueradeBit: 14,
  syncPeriodMs: 30_000,
  minSyncPeriodMs: 1_000,
  healthzBindAddress: '0.0.0.0:10256',
  metricsBindAddress: '127.0.0.1:10249',
  loadBalancing: DEFAULT_LOAD_BALANCING,
};

export class ConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

// Fields of KubeProxyConfiguration that sluice accepts without using (they belong to other modes or to kube-proxy's own process).
const KNOWN_UNUSED = new Set([
  'bindAddress', 'bindAddressHardFail', 'clientConnection', 'configSyncPeriod', 'conntrack', 'enableProfiling',
  'featureGates', 'iptables', 'ipvs', 'linux', 'logging', 'mode', 'oomScoreAdj', 'portRange',
  'showHiddenMetricsForVersion', 'winkernel', 'windowsRunAsService',
]);
const KNOWN_TOP = new Set([
  'apiVersion', 'kind', 'hostnameOverride', 'clusterCIDR', 'serviceCIDRs', 'nodePortAddresses', 'detectLocalMode', 'detectLocal',
  'nftables', 'healthzBindAddress', 'metricsBindAddress', 'loadBalancing', ...KNOWN_UNUSED,
]);
const KNOWN_NFTABLES = new Set(['masqueradeAll', 'masqueradeBit', 'syncPeriod', 'minSyncPeriod']);
const INTERFACE_NAME = /^[A-Za-z0-9_.:-]{1,15}$/;

export function loadConfigFile(path: string, warn: (msg: string) => void): ProxyConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--config', `cannot read ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    throw new ConfigError('--config', `${path} is not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseConfig(doc, warn);
}

export function parseConfig(doc: any, warn: (msg: string) => void): ProxyConfig {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('(document)', 'is not a KubeProxyConfiguration object');
  if (doc.apiVersion !== 'kubeproxy.config.k8s.io/v1alpha1') throw new ConfigError('apiVersion', `${show(doc.apiVersion)} is not kubeproxy.config.k8s.io/v1alpha1`);
  if (doc.kind !== 'KubeProxyConfiguration') throw new ConfigError('kind', `${show(doc.kind)} is not KubeProxyConfiguration`);
  for (const k of Object.keys(doc)) if (!KNOWN_TOP.has(k)) warn(`config: unknown field ${show(k)} ignored`);
  if (doc.mode !== undefined && doc.mode !== '' && doc.mode !== 'nftables') warn(`config: mode ${show(doc.mode)} ignored: sluice always programs nftables`);

  const c: ProxyConfig = { ...DEFAULT_CONFIG, serviceCIDRs: [], nodePortAddresses: [...DEFAULT_CONFIG.nodePortAddresses] };
  if (doc.hostnameOverride !== undefined && doc.hostnameOverride !== '') {
    if (!isDNS1123Subdomain(doc.hostnameOverride)) throw new ConfigError('hostnameOverride', `${show(doc.hostnameOverride)} is not a valid node name`);
    c.hostnameOverride = doc.hostnameOverride;
  }
  if (doc.clusterCIDR !== undefined && doc.clusterCIDR !== '') {
    if (typeof doc.clusterCIDR !== 'string') throw new ConfigError('clusterCIDR', 'is not a string');
    c.clusterCIDRs = doc.clusterCIDR.split(',').map((s: string) => parseCIDR(s.trim())
      ?? fail('clusterCIDR', `${show(s)} is not a CIDR`));
    if (c.clusterCIDRs.length > 2 || (c.clusterCIDRs.length === 2 && c.clusterCIDRs[0].family === c.clusterCIDRs[1].family)) {
      throw new ConfigError('clusterCIDR', 'takes at most one CIDR per IP family');
    }
  }
  if (doc.serviceCIDRs !== undefined && doc.serviceCIDRs !== null) {
    if (!Array.isArray(doc.serviceCIDRs)) throw new ConfigError('serviceCIDRs', 'is not a list');
    c.serviceCIDRs = doc.serviceCIDRs.map((v: unknown, i: number) => parseCIDR(v) ?? fail(`serviceCIDRs[${i}]`, `${show(v)} is not a CIDR`));
  }
  if (doc.nodePortAddresses !== undefined && doc.nodePortAddresses !== null) {
    if (!Array.isArray(doc.nodePortAddresses)) throw new ConfigError('nodePortAddresses', 'is not a list');
    c.nodePortAddresses = doc.nodePortAddresses.length === 0 ? ['primary'] : doc.nodePortAddresses.map((v: unknown, i: number) =>
      v === 'primary' || v === 'localhost' ? v : parseCIDR(v) ?? fail(`nodePortAddresses[${i}]`, `${show(v)} is not a CIDR, "primary" or "localhost"`));
    const loopback = c.nodePortAddresses.filter((a): a is ParsedCIDR => typeof a !== 'string' && cidrContains(a, parseIP(a.family === 4 ? '127.0.0.1' : '::1')!));
    if (loopback.length > 0) {
      warn(`nodePortAddresses ${loopback.map((a) => a.cidr).join(', ')} includes loopback: node ports are served on it without loopback, as in kube-proxy`);
    }
  }
  const mode = doc.detectLocalMode ?? '';
  if (!['', 'ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'].includes(mode)) {
    throw new ConfigError('detectLocalMode', `${show(mode)} is not ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix`);
  }
  c.detectLocalMode = mode === '' ? 'ClusterCIDR' : mode;
  if (c.detectLocalMode === 'BridgeInterface' || c.detectLocalMode === 'InterfaceNamePrefix') {
    const field = c.detectLocalMode === 'BridgeInterface' ? 'bridgeInterface' : 'interfaceNamePrefix';
    const v = doc.detectLocal?.[field];
    if (typeof v !== 'string' || !INTERFACE_NAME.test(v)) throw new ConfigError(`detectLocal.${field}`, `${show(v)} is not an interface name`);
    if (field === 'bridgeInterface') c.bridgeInterface = v; else c.interfaceNamePrefix = v;
  }
  const nft = doc.nftables ?? {};
  if (typeof nft !== 'object' || Array.isArray(nft)) throw new ConfigError('nftables', 'is not an object');
  for (const k of Object.keys(nft)) if (!KNOWN_NFTABLES.has(k)) warn(`config: unknown field nftables.${k} ignored`);
  if (nft.masqueradeAll !== undefined) {
    if (typeof nft.masqueradeAll !== 'boolean') throw new ConfigError('nftables.masqueradeAll', `${show(nft.masqueradeAll)} is not true or false`);
    c.masqueradeAll = nft.masqueradeAll;
  }
  if (nft.masqueradeBit !== undefined && nft.masqueradeBit !== null) {
    if (!Number.isInteger(nft.masqueradeBit) || nft.masqueradeBit < 0 || nft.masqueradeBit > 31) {
      throw new ConfigError('nftables.masqueradeBit', `${show(nft.masqueradeBit)} is not 0-31`);
    }
    c.masqueradeBit = nft.masqueradeBit;
  }
  for (const [field, key] of [['syncPeriod', 'syncPeriodMs'], ['minSyncPeriod', 'minSyncPeriodMs']] as const) {
    if (nft[field] === undefined || nft[field] === null) continue;
    const ms = parseDuration(nft[field]);
    if (ms === undefined) throw new ConfigError(`nftables.${field}`, `${show(nft[field])} is not a duration like 30s or 1m`);
    c[key] = ms;
  }
  if (c.syncPeriodMs <= 0) throw new ConfigError('nftables.syncPeriod', 'must be greater than 0');
  if (c.minSyncPeriodMs > c.syncPeriodMs) throw new ConfigError('nftables.minSyncPeriod', 'must not exceed syncPeriod');
  c.loadBalancing = parseLoadBalancing(doc.loadBalancing, warn, fail);
  for (const field of ['healthzBindAddress', 'metricsBindAddress'] as const) {
    const v = doc[field];
    if (v === undefined || v === '') continue;
    if (parseHostPort(v) === undefined) throw new ConfigError(field, `${show(v)} is not an address:port`);
    c[field] = v;
  }
  return c;
}

/** "0.0.0.0:10256", "[::]:10256" or "127.0.0.1:0" into host and port. */
export function parseHostPort(v: unknown): { host: string; port: number } | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(v);
  if (!m) return undefined;
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (!parseIP(host) || port > 65535) return undefined;
  return { host, port };
}

function fail(field: string, message: string): never {
  throw new ConfigError(field, message);
}
