// A Kubernetes API server small enough to read and real enough for client-node's informers: lists with
// a resourceVersion, newline-delimited watch streams that replay history after a resourceVersion, 410
// for versions older than the last compaction, and switches for the failures a real cluster produces.
// It applies label selectors and the field selectors sluice uses (400 for any other, as the real
// server does), serves lists in pages (limit/continue, from a snapshot per continue token, 410 once
// tokens expire), and sends bookmarks only to watches that asked for them.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export type FakeKind = 'Service' | 'EndpointSlice' | 'Endpoints' | 'Node' | 'ServiceCIDR';
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

interface Resource {
  kind: FakeKind;
  group: string; // '' for the core API
  version: string;
  plural: string;
  namespaced: boolean;
}

const RESOURCES: readonly Resource[] = [
  { kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true },
  { kind: 'Endpoints', group: '', version: 'v1', plural: 'endpoints', namespaced: true },
  { kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false },
  { kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespaced: true },
  { kind: 'ServiceCIDR', group: 'networking.k8s.io', version: 'v1', plural: 'servicecidrs', namespaced: false },
];

export interface RecordedRequest {
  method: string;
  path: string;
  kind?: FakeKind;
  namespace?: string;
  watch: boolean;
  query: Record<string, string>;
  authorization?: string;
  status: number; // 0 until answered
  /** The client went away before it was answered (only parked requests can be abandoned). */
  abandoned?: boolean;
  at: number; // Date.now() when the request arrived
}

interface WatchEvent {
  rv: number;
  kind: FakeKind;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: any;
  /** The object before a MODIFIED: a watch whose selector it leaves sees DELETED, one it enters ADDED. */
  previous?: any;
}

interface Filter {
  kind: FakeKind;
  namespace?: string;
  name?: string; // from fieldSelector metadata.name=
  notHeadless?: boolean; // from fieldSelector spec.clusterIP!=None
  labels?: LabelRequirement[];
}

type LabelRequirement =
  | { op: 'exists' | 'absent'; key: string }
  | { op: '=' | '!='; key: string; value: string };

interface OpenWatch extends Filter {
  bookmarks: boolean;
  res: http.ServerResponse;
  socket: Socket;
}

interface Failure {
  remaining: number;
  status: number;
  match: (req: RecordedRequest) => boolean;
}

export interface FakeApiServerOptions {
  /** How an expired resourceVersion on a watch is reported: an ERROR event in a 200 stream (what the
   * apiserver's watch cache does) or a plain HTTP 410. */
  expiredAs?: 'event' | 'status';
  /** Kinds this server does not serve, like an older cluster without ServiceCIDRs: their paths answer 404. */
  unserved?: FakeKind[];
  /** An API server before 1.31: Services cannot be selected by spec.clusterIP (400). */
  noClusterIPFieldSelector?: boolean;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Events created through POST /api/v1/namespaces/NS/events, as received. */
  readonly events: Record<string, any>[] = [];
  readonly url: string;
  #server: http.Server;
  #objects = new Map<FakeKind, Map<string, any>>(RESOURCES.map((r) => [r.kind, new Map()]));
  #history: WatchEvent[] = [];
  #rv = 1;
  #compactedRV = 0;
  #watches = new Set<OpenWatch>();
  #failures: Failure[] = [];
  #hold: { match: (req: RecordedRequest) => boolean; parked: (() => void)[] } | undefined;
  #expiredAs: 'event' | 'status';
  #unserved: ReadonlySet<FakeKind>;
  #noClusterIPFieldSelector: boolean;
  /** Continue tokens: the rest of a paged list, from the snapshot its first page was served from. */
  #pages = new Map<string, { rv: number; rest: any[]; kind: FakeKind }>();
  #tokens = 0;

  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new FakeApiServer(server, `http://127.0.0.1:${port}`, opts);
  }

  private constructor(server: http.Server, url: string, opts: FakeApiServerOptions) {
    this.#server = server;
    this.url = url;
    this.#expiredAs = opts.expiredAs ?? 'event';
    this.#unserved = new Set(opts.unserved ?? []);
    this.#noClusterIPFieldSelector = opts.noClusterIPFieldSelector ?? false;
    server.on('request', (req, res) => this.#handle(req, res));
  }

  /** The current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** How many watch streams are open, per kind. */
  openWatches(kind?: FakeKind): number {
    return [...this.#watches].filter((w) => kind === undefined || w.kind === kind).length;
  }

  /** Creates or replaces an object (a deep copy, stamped with a new resourceVersion) and tells watchers. */
  apply(obj: any): any {
    const resource = resourceFor(obj?.kind);
    if (this.#unserved.has(resource.kind)) throw new Error(`apply: this server does not serve ${resource.kind}`);
    const name = obj?.metadata?.name;
    const namespace = resource.namespaced ? obj?.metadata?.namespace : undefined;
    if (typeof name !== 'string' || (resource.namespaced && typeof namespace !== 'string')) {
      throw new Error(`apply: ${obj?.kind} needs metadata.name${resource.namespaced ? ' and metadata.namespace' : ''}`);
    }
    const store = this.#objects.get(resource.kind)!;
    const key = storeKey(namespace, name);
    const existing = store.get(key);
    const stored = structuredClone(obj);
    stored.apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
    stored.metadata.resourceVersion = String(++this.#rv);
    stored.metadata.uid ??= existing?.metadata?.uid ?? `uid-${this.#rv}`;
    store.set(key, stored);
    this.#emit({ rv: this.#rv, kind: resource.kind, type: existing ? 'MODIFIED' : 'ADDED', object: stored, previous: existing });
    return structuredClone(stored);
  }

  /** Deletes an object and tells watchers; false when there was nothing to delete. */
  delete(kind: FakeKind, namespace: string | undefined, name: string): boolean {
    const store = this.#objects.get(kind)!;
    const key = storeKey(resourceFor(kind).namespaced ? namespace : undefined, name);
    const existing = store.get(key);
    if (!existing) return false;
    store.delete(key);
    const gone = structuredClone(existing);
    gone.metadata.resourceVersion = String(++this.#rv);
    this.#emit({ rv: this.#rv, kind, type: 'DELETED', object: gone });
    return true;
  }

  /** Continue tokens handed out and not yet used up (lists still being paged). */
  get pendingContinues(): number {
    return this.#pages.size;
  }

  /** Expires every continue token handed out, as compaction does: their next page answers 410. */
  expireContinues(): void {
    this.#pages.clear();
  }

  /** Forgets history: watches from any resourceVersion older than now get 410 Gone. */
  compact(): void {
    this.#compactedRV = this.#rv;
    this.#history = [];
  }

  /** Sends a BOOKMARK with the current resourceVersion to watches that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.#watches) {
      if (w.bookmarks) {
        writeEvent(w.res, 'BOOKMARK', { kind: w.kind, apiVersion: apiVersionOf(resourceFor(w.kind)), metadata: { resourceVersion: String(this.#rv) } });
      }
    }
  }

  /** Destroys open watch connections without ending the HTTP response, like a dying apiserver or LB. */
  dropWatches(): void {
    for (const w of this.#watches) w.socket.destroy();
    this.#watches.clear();
  }

  /** Ends open watch streams cleanly, like the apiserver does when a watch's timeout expires. */
  endWatches(): void {
    for (const w of this.#watches) w.res.end();
    this.#watches.clear();
  }

  /** Makes the next n requests (of those `match` accepts) fail with an HTTP status and a Status body. */
  failNext(n: number, status: number, match: (req: RecordedRequest) => boolean = () => true): void {
    this.#failures.push({ remaining: n, status, match });
  }

  /** Parks new requests (by default: watches) unanswered until release(), so a client can miss
   * changes or be stopped mid-request. */
  hold(match: (req: RecordedRequest) => boolean = (req) => req.watch): void {
    this.#hold = { match, parked: this.#hold?.parked ?? [] };
  }

  /** Answers parked requests as of now and stops holding. */
  release(): void {
    const parked = this.#hold?.parked ?? [];
    this.#hold = undefined;
    for (const resume of parked) resume();
  }

  /** A KubeConfig for this server (plain HTTP needs insecure-skip-tls-verify in client-node). */
  kubeConfig(token = 'test-token'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml(token));
    return kc;
  }

  kubeconfigYaml(token = 'test-token'): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'tester', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tester' } }],
      'current-context': 'fake',
    }, null, 2);
  }

  writeKubeconfig(path: string, token = 'test-token'): string {
    writeFileSync(path, this.kubeconfigYaml(token));
    return path;
  }

  async close(): Promise<void> {
    this.release();
    this.endWatches();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #emit(event: WatchEvent): void {
    this.#history.push(event);
    for (const w of this.#watches) {
      const type = seenAs(w, event);
      if (type) writeEvent(w.res, type, event.object);
    }
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const route = parsePath(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      kind: route?.resource.kind,
      namespace: route?.namespace,
      watch: query.watch === 'true' || query.watch === '1',
      query,
      authorization: req.headers.authorization,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(rec);

    if (this.#hold?.match(rec)) {
      this.#hold.parked.push(() => this.#answer(req, res, rec, url));
      res.on('close', () => { if (rec.status === 0) rec.abandoned = true; });
      return;
    }
    this.#answer(req, res, rec, url);
  }

  #answer(req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest, url: URL): void {
    if (req.socket.destroyed) return; // the client gave up while its request was parked
    const route = parsePath(url.pathname);
    const query = rec.query;
    const reply = (status: number, body: unknown) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const failure = this.#failures.find((f) => f.remaining > 0 && f.match(rec));
    if (failure) {
      failure.remaining--;
      return reply(failure.status, status(failure.status, 'InternalError', `injected failure ${failure.status}`));
    }
    const eventPath = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname);
    if (eventPath && rec.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const event = JSON.parse(body);
        this.events.push(event);
        reply(201, { ...event, metadata: { ...event.metadata, name: `${event.metadata?.generateName ?? 'event.'}${this.events.length}`, namespace: eventPath[1] } });
      });
      return;
    }
    if (!route || rec.method !== 'GET' || route.name !== undefined || this.#unserved.has(route.resource.kind)) {
      return reply(404, status(404, 'NotFound', `the server could not find the requested resource ${url.pathname}`));
    }
    const kind = route.resource.kind;
    const fields = parseFieldSelector(query.fieldSelector, kind, this.#noClusterIPFieldSelector);
    if (typeof fields === 'string') return reply(400, status(400, 'BadRequest', fields));
    const labels = parseLabelSelector(query.labelSelector);
    if (typeof labels === 'string') return reply(400, status(400, 'BadRequest', labels));
    const filter: Filter = { kind, namespace: route.namespace ?? fields.namespace, name: fields.name, notHeadless: fields.notHeadless, labels };

    if (!rec.watch) {
      let rv = this.#rv;
      let items: any[];
      if (query.continue !== undefined) {
        const page = this.#pages.get(query.continue);
        if (!page || page.kind !== kind) {
          return reply(410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
        }
        this.#pages.delete(query.continue);
        ({ rv, rest: items } = page);
      } else {
        items = [...this.#objects.get(kind)!.values()]
          .filter((o) => matches(filter, { kind, object: o }))
          .sort((a, b) => storeKey(a.metadata.namespace, a.metadata.name).localeCompare(storeKey(b.metadata.namespace, b.metadata.name)))
          .map((o) => structuredClone(o)); // a snapshot: later changes do not reach later pages
      }
      const limit = query.limit === undefined ? undefined : Number(query.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) return reply(400, status(400, 'BadRequest', `invalid limit ${query.limit}`));
      const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
      if (limit && items.length > limit) {
        const token = `page-${++this.#tokens}`;
        this.#pages.set(token, { rv, rest: items.slice(limit), kind });
        items = items.slice(0, limit);
        metadata.continue = token;
        metadata.remainingItemCount = this.#pages.get(token)!.rest.length;
      }
      return reply(200, { kind: `${kind}List`, apiVersion: apiVersionOf(route.resource), metadata, items });
    }

    this.#stream(req, res, rec, filter, reply);
  }

  #stream(req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest,
    filter: Filter, reply: (status: number, body: unknown) => void): void {
    const rv = rec.query.resourceVersion;
    const from = rv === undefined || rv === '' ? undefined : Number(rv);
    if (from !== undefined && (!Number.isInteger(from) || from < this.#compactedRV)) {
      const gone = status(410, 'Expired', `too old resource version: ${rv} (${this.#compactedRV})`);
      if (this.#expiredAs === 'status') return reply(410, gone);
      rec.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' });
      writeEvent(res, 'ERROR', gone);
      res.end();
      return;
    }
    rec.status = 200;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (from === undefined) {
      // No resourceVersion: the real server starts with synthetic ADDED events for what exists.
      for (const o of this.#objects.get(filter.kind)!.values()) {
        if (matches(filter, { kind: filter.kind, object: o })) writeEvent(res, 'ADDED', o);
      }
    } else {
      for (const e of this.#history) {
        const type = e.rv > from ? seenAs(filter, e) : undefined;
        if (type) writeEvent(res, type, e.object);
      }
    }
    const watch: OpenWatch = { ...filter, bookmarks: rec.query.allowWatchBookmarks === 'true', res, socket: req.socket };
    this.#watches.add(watch);
    res.on('close', () => this.#watches.delete(watch));
  }
}

/** How a watch with this filter sees an event, as the API server's watch cache does: an object
 * changed into or out of the selection is ADDED or DELETED; undefined when it does not see it. */
function seenAs(filter: Filter, e: WatchEvent): WatchEvent['type'] | undefined {
  const now = matches(filter, e);
  if (e.type !== 'MODIFIED') return now ? e.type : undefined;
  const before = e.previous !== undefined && matches(filter, { kind: e.kind, object: e.previous });
  if (now) return before ? 'MODIFIED' : 'ADDED';
  return before ? 'DELETED' : undefined;
}

function matches(filter: Filter, e: { kind: FakeKind; object: any }): boolean {
  const labels: Record<string, string> = e.object.metadata.labels ?? {};
  return e.kind === filter.kind
    && (filter.namespace === undefined || e.object.metadata.namespace === filter.namespace)
    && (filter.name === undefined || e.object.metadata.name === filter.name)
    && (!filter.notHeadless || e.object.spec?.clusterIP !== 'None')
    && (filter.labels ?? []).every((r) => {
      switch (r.op) {
        case 'exists': return r.key in labels;
        case 'absent': return !(r.key in labels);
        case '=': return labels[r.key] === r.value;
        case '!=': return labels[r.key] !== r.value;
      }
    });
}

function writeEvent(res: http.ServerResponse, type: string, object: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify({ type, object }) + '\n');
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function resourceFor(kind: unknown): Resource {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`fake apiserver does not serve kind ${String(kind)}`);
  return r;
}

function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

function storeKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** /api/v1/[namespaces/NS/]PLURAL[/NAME] or /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME]. */
function parsePath(pathname: string): { resource: Resource; namespace?: string; name?: string } | undefined {
  const parts = pathname.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    rest = parts.slice(3);
    if (!RESOURCES.some((r) => r.group === group && r.version === parts[2])) return undefined;
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1]);
    rest = rest.slice(2);
  }
  const resource = RESOURCES.find((r) => r.group === group && r.plural === rest[0]);
  if (!resource || rest.length > 2 || (namespace !== undefined && !resource.namespaced)) return undefined;
  return { resource, namespace, name: rest[1] === undefined ? undefined : decodeURIComponent(rest[1]) };
}

/** The field selectors sluice uses: metadata.name=X, metadata.namespace=Y and (Services) spec.clusterIP!=None. */
function parseFieldSelector(sel: string | undefined, kind: FakeKind, noClusterIP: boolean): { name?: string; namespace?: string; notHeadless?: boolean } | string {
  const out: { name?: string; namespace?: string; notHeadless?: boolean } = {};
  if (!sel) return out;
  for (const term of sel.split(',')) {
    const m = /^metadata\.(name|namespace)==?(.*)$/.exec(term);
    if (m) {
      out[m[1] as 'name' | 'namespace'] = m[2];
    } else if (term === 'spec.clusterIP!=None' && kind === 'Service' && !noClusterIP) {
      out.notHeadless = true;
    } else {
      return `field label not supported: ${term}`;
    }
  }
  return out;
}

/** Label selectors as the API server reads them, without set-based terms (in, notin) sluice does not use. */
function parseLabelSelector(sel: string | undefined): LabelRequirement[] | string {
  if (!sel) return [];
  const key = '(?:[a-z0-9.-]+/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?';
  const value = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?';
  const out: LabelRequirement[] = [];
  for (const term of sel.split(',')) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^!(${key})$`).exec(term))) out.push({ op: 'absent', key: m[1] });
    else if ((m = new RegExp(`^(${key})(!=|==|=)(${value})$`).exec(term))) out.push({ op: m[2] === '!=' ? '!=' : '=', key: m[1], value: m[3] });
    else if ((m = new RegExp(`^(${key})$`).exec(term))) out.push({ op: 'exists', key: m[1] });
    else return `unable to parse requirement: ${term}`;
  }
  return out;
}
