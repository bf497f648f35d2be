// KubeProxyConfiguration's clientConnection (component-base ClientConnectionConfiguration): how the
// proxy talks to the API server. sluice uses the kubeconfig; @kubernetes/client-node has no client-side
// rate limiter and speaks JSON only, so qps, burst and the content types are validated and reported in
// /configz but change nothing (docs/configuration.md).
import { show } from '../model/validate.ts';

export interface ClientConnection {
  /** '' when not set: then --kubeconfig, the pod's service account, KUBECONFIG or ~/.kube/config. */
  kubeconfig: string;
  acceptContentTypes: string;
  contentType: string;
  qps: number;
  burst: number;
}

export const DEFAULT_CLIENT_CONNECTION: ClientConnection = {
  kubeconfig: '', acceptContentTypes: '', contentType: 'application/vnd.kubernetes.protobuf', qps: 5, burst: 10,
};

const KNOWN = new Set(['kubeconfig', 'acceptContentTypes', 'contentType', 'qps', 'burst']);

export function parseClientConnection(v: any, warn: (msg: string) => void, fail: (field: string, message: string) => never): ClientConnection {
  const c = { ...DEFAULT_CLIENT_CONNECTION };
  if (v === undefined || v === null) return c;
  if (typeof v !== 'object' || Array.isArray(v)) fail('clientConnection', 'is not an object');
  for (const k of Object.keys(v)) if (!KNOWN.has(k)) warn(`config: unknown field clientConnection.${k} ignored`);
  for (const k of ['kubeconfig', 'acceptContentTypes', 'contentType'] as const) {
    if (v[k] === undefined || v[k] === null) continue;
    if (typeof v[k] !== 'string') fail(`clientConnection.${k}`, `${show(v[k])} is not a string`);
    if (k !== 'kubeconfig' || v[k] !== '') c[k] = v[k];
  }
  if (v.qps !== undefined && v.qps !== null) {
    if (typeof v.qps !== 'number' || !Number.isFinite(v.qps)) fail('clientConnection.qps', `${show(v.qps)} is not a number`);
    c.qps = v.qps;
  }
  if (v.burst !== undefined && v.burst !== null) {
    // kube-proxy's one check on this section: burst must not be negative.
    if (!Number.isInteger(v.burst) || v.burst < 0) fail('clientConnection.burst', `${show(v.burst)} is not a whole number of 0 or more`);
    c.burst = v.burst;
  }
  if (c.contentType !== '' && !/^application\/(json|vnd\.kubernetes\.protobuf)$/.test(c.contentType)) {
    warn(`config: clientConnection.contentType ${show(c.contentType)} is unusual; sluice's client sends and asks for JSON whatever it says`);
  }
  return c;
}
