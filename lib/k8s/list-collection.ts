// Lists a collection as plain JSON. client-node's typed list calls run the response through
// ObjectSerializer.deserialize, which drops fields its models lack and turns timestamps into Dates,
// while watch events arrive as plain JSON; listing raw keeps both paths giving the same objects.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';

export type ObjectList = KubernetesListObject<KubernetesObject>;

/** An API request that did not succeed; statusCode is what the informer looks at (410 = relist). */
export class ApiError extends Error {
  statusCode: number;
  reason?: string;
  constructor(statusCode: number, message: string, reason?: string) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export async function listCollection(
  kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal,
): Promise<ObjectList> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const opts: https.RequestOptions = { headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts); // auth headers, client certs, CA, proxy agent
  const { status, body } = await get(url, { ...opts, signal });
  if (status < 200 || status > 299) {
    let reason: string | undefined;
    let message = `${http.STATUS_CODES[status] ?? 'HTTP error'} listing ${path}`;
    try {
      const s = JSON.parse(body);
      if (typeof s?.message === 'string') message = `${message}: ${s.message}`;
      if (typeof s?.reason === 'string') reason = s.reason;
    } catch { /* not a Status object */ }
    throw new ApiError(status, message, reason);
  }
  const list = JSON.parse(body);
  if (!list || typeof list !== 'object' || !Array.isArray(list.items ?? [])) {
    throw new Error(`listing ${path}: response is not a list`);
  }
  list.items ??= [];
  return list as ObjectList;
}

function get(url: URL, opts: https.RequestOptions): Promise<{ status: number; body: string }> {
  const send = url.protocol === 'http:' ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = send(url, { ...opts, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('close', () => { if (!res.complete) reject(new Error(`connection closed while listing ${url.pathname}`)); });
    });
    req.on('error', reject);
    req.end();
  });
}
