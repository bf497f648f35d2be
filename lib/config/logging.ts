// KubeProxyConfiguration's logging (component-base LoggingConfiguration): format and verbosity map onto
// sluice's logger; klog's other options (flushFrequency, options.*) have nothing to act on here.
import type { LogLevel } from '../log.ts';
import { show } from '../model/validate.ts';

export interface LoggingConfig {
  /** Absent when the file does not say: the command line or the command's default decides. */
  format?: 'json' | 'text';
  /** klog verbosity as given (0 when absent). */
  verbosity: number;
}

const KNOWN = new Set(['format', 'verbosity', 'flushFrequency', 'options', 'vmodule']);

/**
 * klog's levels are all "info" above error and warning: kube-proxy logs routine changes at V(2), per
 * sync detail at V(4) and more. sluice's debug level holds what kube-proxy shows from V(4), so 0-3 is
 * info and 4 or more is debug.
 */
export function levelForVerbosity(verbosity: number): LogLevel {
  return verbosity >= 4 ? 'debug' : 'info';
}

export function parseLogging(v: any, warn: (msg: string) => void, fail: (field: string, message: string) => never): LoggingConfig {
  const c: LoggingConfig = { verbosity: 0 };
  if (v === undefined || v === null) return c;
  if (typeof v !== 'object' || Array.isArray(v)) fail('logging', 'is not an object');
  for (const k of Object.keys(v)) if (!KNOWN.has(k)) warn(`config: unknown field logging.${k} ignored`);
  if (v.format !== undefined && v.format !== null && v.format !== '') {
    if (v.format !== 'json' && v.format !== 'text') fail('logging.format', `${show(v.format)} is not json or text`);
    c.format = v.format;
  }
  if (v.verbosity !== undefined && v.verbosity !== null) {
    if (!Number.isInteger(v.verbosity) || v.verbosity < 0) fail('logging.verbosity', `${show(v.verbosity)} is not a whole number of 0 or more`);
    c.verbosity = v.verbosity;
  }
  if (v.vmodule !== undefined && v.vmodule !== null && !(Array.isArray(v.vmodule) && v.vmodule.length === 0)) {
    warn('config: logging.vmodule ignored: sluice has one log level for the whole process');
  }
  return c;
}
