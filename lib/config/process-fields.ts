// The fields of KubeProxyConfiguration about the proxy process rather than the rules: bindAddress (the
// node-IP override), bindAddressHardFail, configSyncPeriod, enableProfiling, oomScoreAdj, and sluice's
// serviceProxyName. `at` turns a v1alpha1 field name into the one the file used (v1alpha2 renames).
import { parseIP } from '../model/ip.ts';
import { show } from '../model/validate.ts';
import { parseDuration } from './duration.ts';

export interface ProcessFields {
  /** v1alpha1 bindAddress / v1alpha2 nodeIPOverride, comma-joined; '' when unset or unspecified (0.0.0.0, ::). */
  bindAddress: string;
  bindAddressHardFail: boolean;
  configSyncPeriodMs: number;
  enableProfiling: boolean;
  oomScoreAdj: number;
  /** sluice's extension: serve only Services labelled service.kubernetes.io/service-proxy-name=<this>. */
  serviceProxyName?: string;
}

export const DEFAULT_PROCESS_FIELDS: ProcessFields = {
  bindAddress: '', bindAddressHardFail: false, configSyncPeriodMs: 15 * 60_000, enableProfiling: false, oomScoreAdj: -999,
};

// A label value: at most 63 characters, alphanumeric at both ends, '-', '_' and '.' inside.
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

export function parseProcessFields(doc: any, warn: (msg: string) => void, fail: (field: string, message: string) => never, at: (field: string) => string): ProcessFields {
  const c = { ...DEFAULT_PROCESS_FIELDS };
  if (doc.bindAddress !== undefined && doc.bindAddress !== null && doc.bindAddress !== '') {
    if (typeof doc.bindAddress !== 'string') fail(at('bindAddress'), `${show(doc.bindAddress)} is not an IP address`);
    const ips = doc.bindAddress.split(',').map((s: string) => parseIP(s.trim()) ?? fail(at('bindAddress'), `${show(s)} is not an IP address`));
    const specified = ips.filter((ip: { address: string }) => ip.address !== '0.0.0.0' && ip.address !== '::');
    if (specified.length > 0) {
      c.bindAddress = specified.map((ip: { address: string }) => ip.address).join(',');
      // kube-proxy takes it as this node's primary IP; sluice takes that from the Node object alone.
      warn(`config: ${at('bindAddress')} ${show(doc.bindAddress)} is not used as the node's IP: sluice reads the node's InternalIPs from its Node object (nodePortAddresses "primary")`);
    }
  }
  for (const k of ['bindAddressHardFail', 'enableProfiling'] as const) {
    if (doc[k] === undefined || doc[k] === null) continue;
    if (typeof doc[k] !== 'boolean') fail(at(k), `${show(doc[k])} is not true or false`);
    c[k] = doc[k];
  }
  if (doc.configSyncPeriod !== undefined && doc.configSyncPeriod !== null) {
    const ms = parseDuration(doc.configSyncPeriod);
    if (ms === undefined) fail(at('configSyncPeriod'), `${show(doc.configSyncPeriod)} is not a duration like 15m`);
    if (ms <= 0) fail(at('configSyncPeriod'), 'must be greater than 0');
    c.configSyncPeriodMs = ms;
  }
  if (doc.oomScoreAdj !== undefined && doc.oomScoreAdj !== null) {
    if (!Number.isInteger(doc.oomScoreAdj) || doc.oomScoreAdj < -1000 || doc.oomScoreAdj > 1000) {
      fail(at('oomScoreAdj'), `${show(doc.oomScoreAdj)} is not a whole number from -1000 to 1000`);
    }
    c.oomScoreAdj = doc.oomScoreAdj;
  }
  if (doc.serviceProxyName !== undefined && doc.serviceProxyName !== null && doc.serviceProxyName !== '') {
    if (typeof doc.serviceProxyName !== 'string' || !LABEL_VALUE.test(doc.serviceProxyName)) {
      fail('serviceProxyName', `${show(doc.serviceProxyName)} is not a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`);
    }
    c.serviceProxyName = doc.serviceProxyName;
  }
  return c;
}
