// KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1): the file kube-proxy users already have.
// sluice reads the fields that matter to an nftables proxy; unknown fields are warned about, invalid
// values are errors naming the field.
import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { cidrContains, parseCIDR, parseIP, type ParsedCIDR } from '../model/ip.ts';
import { isDNS1123Subdomain, show } from '../model/validate.ts';
import { parseDuration } from './duration.ts';
import { DEFAULT_LOAD_BALANCING, parseLoadBalancing, type LoadBalancing } from './load-balancing.ts';
import { DEFAULT_COUNTERS, parseCounters, type CountersConfig } from './counters.ts';
import { DEFAULT_CLIENT_CONNECTION, parseClientConnection, type ClientConnection } from './client-connection.ts';
import { DEFAULT_CONNTRACK, parseConntrack, type ConntrackConfig } from './conntrack.ts';
import { parseFeatureGates } from './feature-gates.ts';
import { parseLogging, type LoggingConfig } from './logging.ts';
import { DEFAULT_PROCESS_FIELDS, parseProcessFields, type ProcessFields } from './process-fields.ts';
import { convertV1alpha2, V1ALPHA2 } from './v1alpha2.ts';

export const V1ALPHA1 = 'kubeproxy.config.k8s.io/v1alpha1';

export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';

export interface ProxyConfig extends ProcessFields {
  /** The version the file was written in (v1alpha1 when there was no file). */
  apiVersion: string;
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
  /** v1alpha1 conntrack, v1alpha2 linux.conntrack: applied to the node at start (lib/node-settings/). */
  conntrack: ConntrackConfig;
  clientConnection: ClientConnection;
  logging: LoggingConfig;
  featureGates: Record<string, boolean>;
  /** sluice's extension: how service chains pick an endpoint, random or Maglev (load-balancing.ts). */
  loadBalancing: LoadBalancing;
  /** sluice's extension: named counters of new connections per service port and endpoint (counters.ts). */
  counters: CountersConfig;
}

export const DEFAULT_CONFIG: ProxyConfig = {
  ...DEFAULT_PROCESS_FIELDS,
  apiVersion: V1ALPHA1,
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
  conntrack: DEFAULT_CONNTRACK,
  clientConnection: DEFAULT_CLIENT_CONNECTION,
  logging: { verbosity: 0 },
  featureGates: {},
  loadBalancing: DEFAULT_LOAD_BALANCING,
  counters: DEFAULT_COUNTERS,
};

export class ConfigError extends Error {
  readonly field: string;
  /** The message without the field. */
  readonly detail: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
    this.detail = message;
  }
}

// Fields of KubeProxyConfiguration that sluice accepts without using (they belong to other modes or to kube-proxy's own process).
// (bindAddress, conntrack, clientConnection... are read: process-fields.ts and the other parsers.)
const KNOWN_UNUSED = new Set([
  'bindAddress', 'bindAddressHardFail', 'clientConnection', 'configSyncPeriod', 'conntrack', 'enableProfiling',
  'featureGates', 'iptables', 'ipvs', 'linux', 'logging', 'mode', 'oomScoreAdj', 'portRange',
  'showHiddenMetricsForVersion', 'winkernel', 'windowsRunAsService', 'serviceProxyName',
]);
const KNOWN_TOP = new Set([
  'apiVersion', 'kind', 'hostnameOverride', 'clusterCIDR', 'serviceCIDRs', 'nodePortAddresses', 'detectLocalMode', 'detectLocal',
  'nftables', 'healthzBindAddress', 'metricsBindAddress', 'loadBalancing', 'counters', ...KNOWN_UNUSED,
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
  if (doc.apiVersion !== V1ALPHA1 && doc.apiVersion !== V1ALPHA2) throw new ConfigError('apiVersion', `${show(doc.apiVersion)} is not ${V1ALPHA1} or ${V1ALPHA2}`);
  if (doc.kind !== 'KubeProxyConfiguration') throw new ConfigError('kind', `${show(doc.kind)} is not KubeProxyConfiguration`);
  if (doc.apiVersion === V1ALPHA1) return parseV1alpha1(doc, warn, {});
  // v1alpha2 is read as the v1alpha1 document it converts to; errors name the v1alpha2 field.
  const { doc: converted, renames } = convertV1alpha2(doc, warn, fail);
  try {
    return { ...parseV1alpha1(converted, warn, renames), apiVersion: V1ALPHA2 };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(renamed(e.field, renames), e.detail);
    throw e;
  }
}

/** The field of the file a v1alpha1 field (or one inside it) came from. */
function renamed(field: string, renames: Record<string, string>): string {
  const from = Object.keys(renames).filter((k) => field === k || field.startsWith(k + '.') || field.startsWith(k + '['))
    .sort((a, b) => b.length - a.length)[0];
  return from === undefined ? field : renames[from] + field.slice(from.length);
}

function parseV1alpha1(doc: any, warn: (msg: string) => void, renames: Record<string, string>): ProxyConfig {
  const at = (field: string) => renamed(field, renames);
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
  c.counters = parseCounters(doc.counters, warn, fail);
  Object.assign(c, parseProcessFields(doc, warn, fail, at));
  c.conntrack = parseConntrack(doc.conntrack, at('conntrack'), warn, fail);
  c.clientConnection = parseClientConnection(doc.clientConnection, warn, fail);
  c.logging = parseLogging(doc.logging, warn, fail);
  c.featureGates = parseFeatureGates(doc.featureGates, 'featureGates', warn, fail);
  // As kube-proxy's defaults: IPv6 addresses when bindAddress is IPv6, and a port appended when missing.
  const v6 = c.bindAddress !== '' ? c.bindAddress.split(',')[0].includes(':') : String(doc.bindAddress ?? '').includes(':');
  if (v6) Object.assign(c, { healthzBindAddress: '[::]:10256', metricsBindAddress: '[::1]:10249' });
  for (const [field, port] of [['healthzBindAddress', 10256], ['metricsBindAddress', 10249]] as const) {
    const v = doc[field];
    if (v === undefined || v === '') continue;
    const withPort = typeof v === 'string' && parseIP(v) ? (v.includes(':') ? `[${v}]:${port}` : `${v}:${port}`) : v;
    if (parseHostPort(withPort) === undefined) throw new ConfigError(at(field), `${show(v)} is not an address:port`);
    c[field] = withPort;
  }
  return c;
}

/** "0.0.0.0:10256", "[::]:10256" or "127.0.0.1:0" into host and port. */
export function parseHostPort(v: unknown): { host: string; port: number } | undefined {
  if (typeof v !== 'string') return undefined;
  // ":10256" (an empty host, as Go's net.Listen takes it) is every address: what v1alpha2's 0.0.0.0/0 and ::/0 convert to.
  const m = /^(?:\[([^\]]+)\]|([^:]*)):([0-9]{1,5})$/.exec(v);
  if (!m) return undefined;
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if ((host !== '' && !parseIP(host)) || port > 65535) return undefined;
  return { host, port };
}

function fail(field: string, message: string): never {
  throw new ConfigError(field, message);
}
