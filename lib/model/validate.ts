// Validators for the names and numbers Kubernetes objects carry, with Kubernetes' own rules
// (apimachinery's validation), so that nothing invalid reaches the rules.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function isDNS1123Label(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 63 && DNS1123_LABEL.test(v);
}

export function isDNS1035Label(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 63 && DNS1035_LABEL.test(v);
}

export function isDNS1123Subdomain(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 253 && v.split('.').every((l) => l.length <= 63 && DNS1123_LABEL.test(l));
}

/** A port name: at most 15 characters, lower-case letters, digits and single hyphens, at least one letter. */
export function isPortName(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 15 && IANA_SVC_NAME.test(v) && !v.includes('--') && /[a-z]/.test(v);
}

export function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** Kubernetes protocol names (TCP, UDP, SCTP; TCP when absent) as nft's lower-case ones. */
export function parseProtocol(v: unknown): Protocol | undefined {
  if (v === undefined || v === null) return 'tcp';
  switch (v) {
    case 'TCP': return 'tcp';
    case 'UDP': return 'udp';
    case 'SCTP': return 'sctp';
    default: return undefined;
  }
}

/** Describes a value for a warning without letting a huge or multi-line value through. */
export function show(v: unknown): string {
  let s: string;
  try { s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v); } catch { s = String(v); }
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}
