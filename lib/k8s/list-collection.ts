// Lists a collection as plain JSON. client-node's typed list calls run the response through
// ObjectSerializer.deserialize, which drops fields its models lack and turns timestamps into Dates,
// while watch events arrive as plain JSON; listing raw keeps both paths giving the same objects.
// Lists come in pages (limit and continue), as client-go's pager does: at 10,000 Services one
// answer would be tens of megabytes held whole by the API server and by sluice at once; and each
// page's objects are made into what the caller keeps (`itemAs`) before the next page is asked for,
// so the whole list is never held as it came.
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

/** Objects per page, as client-go's informers ask for (pager.go's default page size). */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * Lists a collection page by page into one list. All pages come from the snapshot the first was
 * served from (the API server's continue token pins it), so the list's resourceVersion is that
 * snapshot's. A continue token can expire (410 Expired) while paging a large collection: then the
 * list is asked for again whole, without a limit, as client-go does (FullListIfExpired).
 */
export async function listCollection(
  kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal, pageSize = DEFAULT_PAGE_SIZE,
  itemAs: (item: any) => KubernetesObject = (item) => item,
): Promise<ObjectList> {
  const items: KubernetesObject[] = [];
  let cont: string | undefined;
  for (;;) {
    let page: ObjectList;
    try {
      page = await listPage(kc, path, { ...query, limit: String(pageSize), ...(cont ? { continue: cont } : {}) }, signal);
    } catch (err) {
      if (cont !== undefined && err instanceof ApiError && err.statusCode === 410) {
        const whole = await listPage(kc, path, query, signal);
        whole.items = whole.items.map(itemAs);
        return whole;
      }
      throw err;
    }
    for (const item of page.items) items.push(itemAs(item));
    const next = page.metadata?._continue;
    if (!next) {
      page.items = items;
      if (page.metadata) delete page.metadata._continue;
      return page;
    }
    cont = next;
  }
}

async function listPage(kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal): Promise<ObjectList> {
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
  // The raw JSON names it "continue"; client-node's list type calls it _continue.
  if (list.metadata && typeof list.metadata.continue === 'string') {
    list.metadata._continue = list.metadata.continue;
    delete list.metadata.continue;
  }
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
