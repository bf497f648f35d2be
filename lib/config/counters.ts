// sluice's extension of the configuration: `counters`, per-service-port and per-endpoint nft named
// counters of new connections, exported on /metrics (lib/serve/counter-metrics.ts). kube-proxy does
// not have it. Off by default: every counter is kernel memory and a label set in Prometheus.
import { show } from '../model/validate.ts';

export interface CountersConfig {
  enabled: boolean;
  /**
   * A service port with more endpoints than this gets its service-port counter only, none per
   * endpoint: the cap on label sets (and on the per-endpoint chains of large services, lib/plan/counters.ts).
   */
  maxEndpoints: number;
}

export const DEFAULT_MAX_ENDPOINTS = 64;
export const DEFAULT_COUNTERS: CountersConfig = { enabled: false, maxEndpoints: DEFAULT_MAX_ENDPOINTS };

const KNOWN = new Set(['enabled', 'maxEndpoints']);

/** `fail(field, message)` throws the configuration's error for that field. */
export function parseCounters(v: any, warn: (msg: string) => void, fail: (field: string, message: string) => never): CountersConfig {
  const c = { ...DEFAULT_COUNTERS };
  if (v === undefined || v === null) return c;
  if (typeof v !== 'object' || Array.isArray(v)) fail('counters', 'is not an object');
  for (const k of Object.keys(v)) if (!KNOWN.has(k)) warn(`config: unknown field counters.${k} ignored`);
  if (v.enabled !== undefined && v.enabled !== null) {
    if (typeof v.enabled !== 'boolean') fail('counters.enabled', `${show(v.enabled)} is not true or false`);
    c.enabled = v.enabled;
  }
  if (v.maxEndpoints !== undefined && v.maxEndpoints !== null) {
    if (!Number.isInteger(v.maxEndpoints) || v.maxEndpoints < 0 || v.maxEndpoints > 10_000) fail('counters.maxEndpoints', `${show(v.maxEndpoints)} is not a whole number from 0 to 10000`);
    c.maxEndpoints = v.maxEndpoints;
  }
  return c;
}
