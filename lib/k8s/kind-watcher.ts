// Keeps one kind of object flowing from the API server to the sink. A run is one client-node
// ListWatch: it lists, watches, reconnects when a stream ends and relists on 410 Gone by itself,
// but stops for good on any other error (ListWatch.doneHandler only calls the error handlers).
// Then this starts a fresh run after a backoff; every run begins with a list, which replaces state.
// ListWatch cannot page its list (it calls the list function it is given), so the list is ours
// (list-collection.ts, paged); it asks for bookmarks (GuardedWatch) and resumes from the newest
// resourceVersion it saw, a bookmark's included. Objects are slimmed as they arrive, before
// ListWatch caches them: its cache and the store share them.
import { ListWatch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { Backoff } from './backoff.ts';
import type { BackoffOptions } from './backoff.ts';
import { EmittedObjects } from './emitted-objects.ts';
import { GuardedWatch } from './guarded-watch.ts';
import { ApiError, listCollection } from './list-collection.ts';
import type { ObjectList } from './list-collection.ts';
import { slimObject, type KubeObject, type ObjectKind, type ObjectSink } from '../objects/objects.ts';
import type { Clock } from '../clock.ts';

export type SourceLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface KindWatcherOptions {
  kind: ObjectKind;
  kubeConfig: KubeConfig;
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * An API server too old for this field selector answers the list 400 (spec.clusterIP on Services
   * is served from Kubernetes 1.31): then the kind is listed and watched without it, said once.
   * What it would have left out is left out by the model instead.
   */
  fieldSelectorOptional?: boolean;
  /** Objects per list page (default 500). */
  pageSize?: number;
  sink: ObjectSink;
  logger: SourceLogger;
  timers: Clock;
  backoff: BackoffOptions;
  /** A run that has been up this long before failing counts as healthy: the backoff starts over. */
  healthyAfterMs: number;
  listTimeoutMs: number;
  onRestart(kind: ObjectKind, error: unknown): void;
  /**
   * The API server may not serve this kind (ServiceCIDR before Kubernetes 1.33): a list answered
   * 404 then means there are none. The kind is reported synced, so nothing waits for it, said once
   * in the log, and asked for again every backoff.maxMs in case the cluster is upgraded.
   */
  mayBeAbsent?: boolean;
}

interface Run {
  id: number;
  informer: ListWatch<KubernetesObject>;
  listedAt?: number;
}

export class KindWatcher {
  readonly kind: ObjectKind;
  #o: KindWatcherOptions;
  #sink: ObjectSink;
  #emitted: EmittedObjects;
  #backoff: Backoff;
  #run: Run | undefined;
  #runs = 0;
  #stopped = false;
  #synced = false;
  #restarts = 0;
  #absent = false; // the last list was a 404 for a kind that may be absent
  #retry: unknown;
  #fieldSelector: string | undefined;
  #retriedWithoutSelector = false;
  #stopping = new AbortController(); // aborts lists in flight and reconnect delays
  #delays = new Set<() => void>();

  constructor(o: KindWatcherOptions) {
    this.kind = o.kind;
    this.#o = o;
    this.#sink = guardSink(o.sink, o.logger);
    this.#emitted = new EmittedObjects(o.kind, this.#sink);
    this.#backoff = new Backoff(o.backoff);
    this.#fieldSelector = o.fieldSelector;
  }

  /** An object as it arrives, made into what sluice keeps of it. */
  #slim = (raw: unknown): KubernetesObject => slimObject(this.kind, raw) as unknown as KubernetesObject;

  get restarts(): number {
    return this.#restarts;
  }

  start(): void {
    if (this.#runs > 0) throw new Error(`${this.kind} watcher already started`);
    this.#launch();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#o.timers.clearTimeout(this.#retry);
    this.#stopping.abort();
    for (const wake of [...this.#delays]) wake();
    const run = this.#run;
    this.#run = undefined;
    // A watch still being opened cannot be aborted yet (Watch.watch hands out its AbortController
    // only once response headers arrive); GuardedWatch aborts it the moment it opens, so stop()
    // does not wait for a server that may never answer.
    await run?.informer.stop();
  }

  #launch(): void {
    const id = ++this.#runs;
    const live = () => !this.#stopped && this.#run?.id === id;
    const watch = new GuardedWatch(this.#o.kubeConfig, live, this.#slim);
    const informer = new ListWatch<KubernetesObject>(
      this.#o.path, watch, () => this.#list(id), false, this.#o.labelSelector, this.#fieldSelector,
      { delayFn: (ms) => this.#delay(ms) },
    );
    // The informer hands back what it was given: objects slimmed by #list and the watch.
    informer.on('add', (obj) => { if (live()) this.#emitted.upsert(obj as unknown as KubeObject); });
    informer.on('update', (obj) => { if (live()) this.#emitted.upsert(obj as unknown as KubeObject); });
    informer.on('delete', (obj) => { if (live()) this.#emitted.remove(obj as unknown as KubeObject); });
    informer.on('error', (err) => this.#failed(id, err));
    this.#run = { id, informer };
    informer.start().catch((err) => this.#failed(id, err));
  }

  /** The informer's list function: lists, then replaces what the sink has of this kind. */
  async #list(id: number): Promise<ObjectList> {
    const query: Record<string, string> = {};
    if (this.#o.labelSelector) query.labelSelector = this.#o.labelSelector;
    if (this.#fieldSelector) query.fieldSelector = this.#fieldSelector;
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(this.#o.listTimeoutMs)]);
    let list: ObjectList;
    try {
      list = await listCollection(this.#o.kubeConfig, this.#o.path, query, signal, this.#o.pageSize, this.#slim);
    } catch (err) {
      if (this.#isAbsent(err) && !this.#stopped && this.#run?.id === id) this.#noneServed();
      if (this.#selectorRefused(err) && !this.#stopped && this.#run?.id === id) {
        this.#o.logger.info('the API server cannot filter by this field selector: watching without it', {
          kind: this.kind, fieldSelector: this.#fieldSelector, error: errorText(err),
        });
        this.#fieldSelector = undefined;
      }
      throw err; // the run ends; #failed asks again later
    }
    const run = this.#run;
    if (this.#stopped || run?.id !== id) throw new Error(`${this.kind} run ${id} is over`);
    this.#absent = false;
    this.#emitted.replace(list.items as unknown as KubeObject[]);
    run.listedAt ??= this.#o.timers.now();
    this.#o.logger.info('listed', { kind: this.kind, objects: list.items.length, resourceVersion: list.metadata?.resourceVersion });
    if (!this.#synced) {
      this.#synced = true;
      this.#sink.synced(this.kind);
    }
    return list;
  }

  /** A 400 for a field selector the kind may do without: the next run goes without it. */
  #selectorRefused(err: unknown): boolean {
    return this.#o.fieldSelectorOptional === true && this.#fieldSelector !== undefined
      && err instanceof ApiError && err.statusCode === 400;
  }

  #isAbsent(err: unknown): boolean {
    return this.#o.mayBeAbsent === true && err instanceof ApiError && err.statusCode === 404;
  }

  /** The API server does not serve this kind: there are none of it, which is a complete initial state. */
  #noneServed(): void {
    if (!this.#absent) {
      this.#absent = true;
      this.#o.logger.info('not served by the API server: taking it as none', { kind: this.kind, path: this.#o.path, retryMs: this.#o.backoff.maxMs });
    }
    this.#emitted.replace([]);
    if (!this.#synced) {
      this.#synced = true;
      this.#sink.synced(this.kind);
    }
  }

  #failed(id: number, err: unknown): void {
    const run = this.#run;
    if (this.#stopped || run?.id !== id) return; // a run already given up, or our own stop()
    this.#run = undefined;
    void run.informer.stop();
    if (err instanceof ApiError && err.statusCode === 400 && this.#o.fieldSelectorOptional && this.#fieldSelector === undefined
      && this.#o.fieldSelector !== undefined && !this.#retriedWithoutSelector) {
      // The list refused the field selector just dropped: not a failure, list again at once.
      this.#retriedWithoutSelector = true;
      this.#launch();
      return;
    }
    if (this.#isAbsent(err)) {
      // Not a failure: no restart counted, no warning; asked again at the slowest pace.
      this.#retry = this.#o.timers.setTimeout(() => {
        this.#retry = undefined;
        if (!this.#stopped) this.#launch();
      }, this.#o.backoff.maxMs);
      return;
    }
    const now = this.#o.timers.now();
    if (run.listedAt !== undefined && now - run.listedAt >= this.#o.healthyAfterMs) this.#backoff.reset();
    const delayMs = this.#backoff.next();
    this.#restarts++;
    this.#o.logger.warn('watch failed, restarting', {
      kind: this.kind, error: errorText(err), delayMs, restarts: this.#restarts,
    });
    try {
      this.#o.onRestart(this.kind, err);
    } catch (cbErr) {
      this.#o.logger.error('onRestart callback failed', { kind: this.kind, error: errorText(cbErr) });
    }
    this.#retry = this.#o.timers.setTimeout(() => {
      this.#retry = undefined;
      if (!this.#stopped) this.#launch();
    }, delayMs);
  }

  /** ListWatch's wait before reconnecting a stream that ended; cut short by stop(). */
  #delay(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.#delays.delete(wake);
        this.#o.timers.clearTimeout(handle);
        resolve();
      };
      const handle = this.#o.timers.setTimeout(wake, ms);
      this.#delays.add(wake);
    });
  }
}

/** A sink that throws inside an informer callback would silently lose events (Watch swallows
 * exceptions from its line handler as if they were JSON parse errors), so log them instead. */
function guardSink(sink: ObjectSink, logger: SourceLogger): ObjectSink {
  const guard = (what: string, f: () => void) => {
    try {
      f();
    } catch (err) {
      logger.error(`sink ${what} failed`, { error: errorText(err) });
    }
  };
  return {
    upsert: (obj) => guard('upsert', () => sink.upsert(obj)),
    remove: (kind, key) => guard('remove', () => sink.remove(kind, key)),
    synced: (kind) => guard('synced', () => sink.synced(kind)),
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { statusCode?: unknown }).statusCode;
    return code === undefined ? `${err.name}: ${err.message}` : `${err.name}: ${err.message} (HTTP ${String(code)})`;
  }
  return String(err);
}
