// The rest of kube-proxy's configuration surface: conntrack, clientConnection, logging, feature gates,
// process fields, serviceProxyName, and v1alpha2 read as the same configuration as v1alpha1.
import { describe, expect, test } from '@jest/globals';
import { ConfigError, DEFAULT_CONFIG, parseConfig, parseHostPort } from '../../lib/config/kube-proxy-config.ts';
import { configzView, goDuration } from '../../lib/config/configz.ts';
import { levelForVerbosity } from '../../lib/config/logging.ts';

const V1 = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration' };
const V2 = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha2', kind: 'KubeProxyConfiguration' };

function parse(doc: object) {
  const warnings: string[] = [];
  const config = parseConfig(doc, (w) => warnings.push(w));
  return { config, warnings };
}

function fieldOf(doc: object): string {
  try {
    parseConfig(doc, () => {});
  } catch (e) {
    if (e instanceof ConfigError) return e.field;
    throw e;
  }
  throw new Error('no error');
}

describe('conntrack', () => {
  test('defaults are kube-proxy\'s', () => {
    expect(parse(V1).config.conntrack).toEqual({
      maxPerCore: 32768, min: 131072, tcpEstablishedTimeout: 86400, tcpCloseWaitTimeout: 3600, tcpBeLiberal: false, udpTimeout: 0, udpStreamTimeout: 0,
    });
  });
  test('durations become whole seconds; every field is read', () => {
    const { config, warnings } = parse({ ...V1, conntrack: { maxPerCore: 0, min: 5, tcpEstablishedTimeout: '2h', tcpCloseWaitTimeout: '90s', tcpBeLiberal: true, udpTimeout: '30s', udpStreamTimeout: '2m0s' } });
    expect(config.conntrack).toEqual({ maxPerCore: 0, min: 5, tcpEstablishedTimeout: 7200, tcpCloseWaitTimeout: 90, tcpBeLiberal: true, udpTimeout: 30, udpStreamTimeout: 120 });
    expect(warnings).toEqual([]);
  });
  test.each([
    [{ maxPerCore: -1 }, 'conntrack.maxPerCore'],
    [{ min: 1.5 }, 'conntrack.min'],
    [{ tcpEstablishedTimeout: 'forever' }, 'conntrack.tcpEstablishedTimeout'],
    [{ tcpBeLiberal: 'yes' }, 'conntrack.tcpBeLiberal'],
  ])('invalid %j names %s', (conntrack, field) => {
    expect(fieldOf({ ...V1, conntrack })).toBe(field);
  });
  test('unknown fields are warned about', () => {
    expect(parse({ ...V1, conntrack: { maxPerCores: 1 } }).warnings).toEqual(['config: unknown field conntrack.maxPerCores ignored']);
  });
});

describe('process fields', () => {
  test('clientConnection, bindAddressHardFail, configSyncPeriod, enableProfiling, oomScoreAdj', () => {
    const { config } = parse({
      ...V1, clientConnection: { kubeconfig: '/etc/k.conf', qps: 20, burst: 40, contentType: 'application/json' },
      bindAddressHardFail: true, configSyncPeriod: '5m', enableProfiling: true, oomScoreAdj: -500,
    });
    expect(config.clientConnection).toEqual({ kubeconfig: '/etc/k.conf', acceptContentTypes: '', contentType: 'application/json', qps: 20, burst: 40 });
    expect(config).toMatchObject({ bindAddressHardFail: true, configSyncPeriodMs: 300_000, enableProfiling: true, oomScoreAdj: -500 });
  });
  test.each([
    [{ clientConnection: { burst: -1 } }, 'clientConnection.burst'],
    [{ configSyncPeriod: '0s' }, 'configSyncPeriod'],
    [{ oomScoreAdj: 2000 }, 'oomScoreAdj'],
    [{ bindAddress: 'node1' }, 'bindAddress'],
    [{ serviceProxyName: 'not a label' }, 'serviceProxyName'],
    [{ logging: { format: 'xml' } }, 'logging.format'],
    [{ featureGates: { NFTablesNetlink: 'on' } }, 'featureGates.NFTablesNetlink'],
  ])('invalid %j names %s', (fields, field) => {
    expect(fieldOf({ ...V1, ...fields })).toBe(field);
  });
  test('an IPv6 bindAddress moves the default server addresses to IPv6, and is warned about as unused', () => {
    const { config, warnings } = parse({ ...V1, bindAddress: 'fd00::5' });
    expect(config).toMatchObject({ bindAddress: 'fd00::5', healthzBindAddress: '[::]:10256', metricsBindAddress: '[::1]:10249' });
    expect(warnings.join('\n')).toContain('is not used as the node\'s IP');
    expect(parse({ ...V1, bindAddress: '0.0.0.0' }).warnings).toEqual([]);
  });
  test('an address without a port gets the default port, as kube-proxy', () => {
    expect(parse({ ...V1, healthzBindAddress: '10.0.0.1', metricsBindAddress: '::1' }).config).toMatchObject({ healthzBindAddress: '10.0.0.1:10256', metricsBindAddress: '[::1]:10249' });
  });
  test('logging: format as given, verbosity 4 and more is debug', () => {
    expect(parse({ ...V1, logging: { format: 'text', verbosity: 4 } }).config.logging).toEqual({ format: 'text', verbosity: 4 });
    expect(parse(V1).config.logging.format).toBeUndefined();
    expect([0, 2, 3, 4, 9].map(levelForVerbosity)).toEqual(['info', 'info', 'info', 'debug', 'debug']);
  });
  test('feature gates: known ones accepted, unknown ones and unsupported values warned about', () => {
    const { config, warnings } = parse({ ...V1, featureGates: { NFTablesNetlink: false, KubeProxyNFTablesLocalhostNodePorts: true, NoSuchGate: true } });
    expect(config.featureGates).toEqual({ NFTablesNetlink: false, KubeProxyNFTablesLocalhostNodePorts: true, NoSuchGate: true });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('KubeProxyNFTablesLocalhostNodePorts=true is not supported');
    expect(warnings[1]).toContain('"NoSuchGate" is not one kube-proxy 1.37 reads');
  });
  test('serviceProxyName is sluice\'s extension, a label value', () => {
    expect(parse({ ...V1, serviceProxyName: 'sluice' }).config.serviceProxyName).toBe('sluice');
    expect(parse(V1).config.serviceProxyName).toBeUndefined();
  });
});

describe('v1alpha2', () => {
  test('the fields that moved land where v1alpha1 has them', () => {
    const { config, warnings } = parse({
      ...V2,
      linux: { conntrack: { maxPerCore: 1, min: 2 }, masqueradeAll: true, oomScoreAdj: 10 },
      syncPeriod: '45s', minSyncPeriod: '2s',
      nftables: { masqueradeBit: 3 },
      detectLocal: { clusterCIDRs: ['10.244.0.0/16', 'fd00:10::/56'] },
      nodeIPOverride: ['0.0.0.0'],
      healthzBindAddresses: ['127.0.0.0/8'], healthzBindPort: 11256,
      metricsBindAddresses: ['0.0.0.0/0'], metricsBindPort: 11249,
      windows: { runAsService: false }, configHardFail: true,
    });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha2',
      masqueradeAll: true, masqueradeBit: 3, syncPeriodMs: 45_000, minSyncPeriodMs: 2000, oomScoreAdj: 10,
      healthzBindAddress: '127.0.0.1:11256', metricsBindAddress: '0.0.0.0:11249',
    });
    expect(config.conntrack).toMatchObject({ maxPerCore: 1, min: 2 });
    expect(config.clusterCIDRs.map((c) => c.cidr)).toEqual(['10.244.0.0/16', 'fd00:10::/56']);
  });
  test('defaults: servers on kube-proxy\'s v1alpha2 addresses (every address; loopback)', () => {
    const { config } = parse(V2);
    expect(config.healthzBindAddress).toBe(':10256');
    expect(parseHostPort(config.healthzBindAddress)).toEqual({ host: '', port: 10256 });
    expect(config.metricsBindAddress).toBe('127.0.0.1:10249');
    expect({ ...config, apiVersion: DEFAULT_CONFIG.apiVersion, healthzBindAddress: DEFAULT_CONFIG.healthzBindAddress }).toEqual(DEFAULT_CONFIG);
  });
  test('errors name the v1alpha2 field', () => {
    expect(fieldOf({ ...V2, syncPeriod: 'soon' })).toBe('syncPeriod');
    expect(fieldOf({ ...V2, linux: { conntrack: { min: -3 } } })).toBe('linux.conntrack.min');
    expect(fieldOf({ ...V2, linux: { masqueradeAll: 1 } })).toBe('linux.masqueradeAll');
    expect(fieldOf({ ...V2, detectLocal: { clusterCIDRs: ['10.0.0.0/33'] } })).toBe('detectLocal.clusterCIDRs');
    expect(fieldOf({ ...V2, healthzBindAddresses: ['10.0.0.0/8'] })).toBe('healthzBindAddresses');
    expect(fieldOf({ ...V2, metricsBindPort: 70000 })).toBe('metricsBindPort');
  });
  test('v1alpha1-only fields are unknown in v1alpha2, and the other way round', () => {
    expect(parse({ ...V2, clusterCIDR: '10.0.0.0/8', portRange: '' }).warnings).toEqual([
      'config: unknown field "clusterCIDR" ignored', 'config: unknown field "portRange" ignored',
    ]);
    expect(parse({ ...V1, healthzBindPort: 1 }).warnings).toEqual(['config: unknown field "healthzBindPort" ignored']);
    expect(parse({ ...V2, nftables: { syncPeriod: '1s' } }).warnings).toEqual(['config: unknown field nftables.syncPeriod ignored']);
  });
});

describe('/configz', () => {
  test('Go duration text', () => {
    expect([0, 500, 1000, 30_000, 90_000, 900_000, 86_400_000].map(goDuration)).toEqual(['0s', '500ms', '1s', '30s', '1m30s', '15m0s', '24h0m0s']);
  });
  test('the effective configuration under kube-proxy\'s key, Go field names', () => {
    const { config } = parse({ ...V1, conntrack: { tcpBeLiberal: true }, nftables: { syncPeriod: '1m' }, featureGates: { NFTablesNetlink: true } });
    const view = configzView(config, 'text') as any;
    expect(Object.keys(view)).toEqual(['kubeproxy.config.k8s.io', 'sluice']);
    const kp = view['kubeproxy.config.k8s.io'];
    expect(kp.Linux.Conntrack).toEqual({ MaxPerCore: 32768, Min: 131072, TCPEstablishedTimeout: '24h0m0s', TCPCloseWaitTimeout: '1h0m0s', TCPBeLiberal: true, UDPTimeout: '0s', UDPStreamTimeout: '0s' });
    expect(kp).toMatchObject({ Mode: 'nftables', SyncPeriod: '1m0s', MinSyncPeriod: '1s', ConfigSyncPeriod: '15m0s', FeatureGates: { NFTablesNetlink: true }, Logging: { format: 'text' } });
    expect(kp.ClientConnection).toEqual({ Kubeconfig: '', AcceptContentTypes: '', ContentType: 'application/vnd.kubernetes.protobuf', QPS: 5, Burst: 10 });
  });
});
