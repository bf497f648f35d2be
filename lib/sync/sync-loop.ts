// The proxy's loop: keeps the kernel's rules equal to what the objects say. Changes are coalesced
// (at most one sync per minSyncPeriod), every syncPeriod a resync checks that sluice's tables are
// still the ones it wrote, and each sync sends one transaction with only what changed. After a
// failure the next sync replaces the tables whole.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import { TRIGGER_TIME_ANNOTATION, type KubeObject, type ObjectKind } from '../k8s/objects.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../manifests/store.ts';
import type { Problem, ProxyModel } from '../model/types.ts';
import { categorize } from '../model/usable.ts';
import { diffRulesets, isEmptyTransaction } from '../nft/diff.ts';
import type { Ruleset } from '../nft/ir.ts';
import { NftError, type NftRunner, type Script, type TableHandle } from '../nft/runner.ts';
import { renderRulesetChunks, renderTransaction } from '../nft/templates.ts';
import { describeProblem } from '../render.ts';
import { planRuleset } from '../plan/plan.ts';
import { buildModel } from '../model/build.ts';
import type { SluiceMetrics } from '../serve/metrics.ts';
import type { ProxyHealth } from '../serve/health.ts';
import { conntrackDeletions, type Conntrack } from './conntrack.ts';
import { collectIfGrown } from './heap.ts';
import { realClock, type Clock } from '../clock.ts';

/** How often the tables are replaced whole even when nothing seems amiss (kube-proxy's full-sync period). */
export const FULL_SYNC_PERIOD_MS = 3_600_000;
const PROGRESS_EVERY_MS = 5_000;

export interface SyncOutcome {
  kind: 'full' | 'partial' | 'none';
  ok: boolean;
  /** Lines of the transaction sent (0 when nothing was sent). */
  lines: number;
  durationMs: number;
  script?: string;
  model: ProxyModel;
  error?: NftError | Error;
}

export interface SyncLoopOptions {
  store: ObjectStore;
  config: ProxyConfig;
  nodeName: string;
  nft: NftRunner;
  log: Logger;
  metrics?: SluiceMetrics;
  health?: ProxyHealth;
  conntrack?: Conntrack;
  clock?: Clock;
  /** Called once for each problem (a skipped object) when it appears. */
  onProblem?: (problem: Problem) => void;
  /** Called after every sync that did something, successful or not. */
  onSync?: (outcome: SyncOutcome) => void;
  fullSyncPeriodMs?: number;
}

export class SyncLoop {
  private readonly o: SyncLoopOptions;
  private readonly clock: Clock;
  private applied?: { ruleset: Ruleset; model: ProxyModel };
  private tableHandles?: string;
  private needFull: { reason: string } | undefined = { reason: 'first sync' };
  private lastFullAt = 0;
  private lastSyncAt = -Infinity;
  private queuedAt: number | undefined;
  private checkTables = false;
  private timer: unknown;
  private periodic: unknown;
  private running: Promise<void> | undefined;
  private stopped = false;
  private started = false;
  private pendingChanges = { service: 0, endpoint: 0 };
  private reportedProblems = new Set<string>();
  /** When the changes waiting to be synced happened in the cluster (EndpointSlices' trigger time). */
  private triggers: { at: number; family: 'IPv4' | 'IPv6' }[] = [];

  constructor(o: SyncLoopOptions) {
    this.o = o;
    this.clock = o.clock ?? realClock;
  }

  /** Starts syncing once Services and EndpointSlices have been listed; the store's changes drive it. */
  start(): void {
    this.o.store.onChange = (kind, obj) => this.changed(kind, obj);
    this.schedulePeriodic();
    this.maybeBegin();
  }

  /** Stops the loop after any sync under way; the rules stay in the kernel. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.periodic);
    await this.running;
  }

  /** Waits for the sync under way, if any (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private maybeBegin() {
    if (this.started || !this.o.store.isSynced('Service', 'EndpointSlice')) return;
    this.started = true;
    this.o.log.info('objects listed, starting to sync', { services: this.o.store.count('Service'), endpointSlices: this.o.store.count('EndpointSlice') });
    this.request();
  }

  private changed(kind: ObjectKind, obj?: KubeObject) {
    const trigger = obj?.metadata.annotations?.[TRIGGER_TIME_ANNOTATION];
    if (typeof trigger === 'string') {
      const at = Date.parse(trigger);
      if (Number.isFinite(at)) this.triggers.push({ at, family: obj!.addressType === 'IPv6' ? 'IPv6' : 'IPv4' });
    }
    if (kind === 'Service') {
      this.pendingChanges.service++;
      this.o.metrics?.serviceChangesTotal.inc();
    } else if (kind === 'EndpointSlice' || kind === 'Endpoints') {
      this.pendingChanges.endpoint++;
      this.o.metrics?.endpointChangesTotal.inc();
    } else if (kind === 'Node') {
      this.o.health?.setNode(this.o.store.get('Node', this.o.nodeName));
    }
    this.o.metrics?.serviceChangesPending.set(this.pendingChanges.service);
    this.o.metrics?.endpointChangesPending.set(this.pendingChanges.endpoint);
    if (!this.started) return this.maybeBegin();
    this.request();
  }

  /** Asks for a sync: at once if the last one started minSyncPeriod ago, else when it has. */
  request(): void {
    if (this.stopped) return;
    if (this.queuedAt === undefined) {
      this.queuedAt = this.clock.now();
      this.o.health?.queued();
      this.o.metrics?.syncProxyRulesLastQueuedTimestamp.set(this.queuedAt / 1000);
    }
    if (this.running || this.timer !== undefined) return;
    const wait = Math.max(0, this.lastSyncAt + this.o.config.minSyncPeriodMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.sync().catch((e) => {
        this.o.log.error('sync failed', { error: (e as Error).stack ?? String(e) });
        this.needFull = { reason: 'the previous sync failed' };
        this.queuedAt ??= this.clock.now();
      }).finally(() => {
        this.running = undefined;
        if (this.queuedAt !== undefined && !this.stopped) this.request();
      });
    }, wait);
  }

  private schedulePeriodic() {
    if (this.stopped) return;
    this.periodic = this.clock.setTimeout(() => {
      this.checkTables = true;
      if (this.started) this.request();
      this.schedulePeriodic();
    }, this.o.config.syncPeriodMs);
  }

  private async sync(): Promise<void> {
    const started = this.clock.now();
    const lastSyncBefore = this.lastSyncAt;
    this.lastSyncAt = started;
    this.queuedAt = undefined;
    const changes = this.pendingChanges;
    this.pendingChanges = { service: 0, endpoint: 0 };
    const triggers = this.triggers;
    this.triggers = [];
    this.o.metrics?.serviceChangesPending.set(0);
    this.o.metrics?.endpointChangesPending.set(0);

    const model = buildModel(this.o.store.objects(), this.o.nodeName);
    this.reportProblems(model);
    const ruleset = planRuleset(model, this.o.config);

    if (this.checkTables && !this.needFull) await this.checkTablesUnchanged();
    this.checkTables = false;
    if (!this.needFull && started - this.lastFullAt >= (this.o.fullSyncPeriodMs ?? FULL_SYNC_PERIOD_MS)) this.needFull = { reason: 'periodic full sync' };

    const tx = this.needFull ? { kind: 'full' as const, reason: this.needFull.reason } : diffRulesets(this.applied?.ruleset, ruleset);
    if (isEmptyTransaction(tx)) {
      // minSyncPeriod spaces out what is sent to the kernel: a sync that sent nothing (a periodic check,
      // most often) does not make the next change wait.
      this.lastSyncAt = lastSyncBefore;
      this.observeProgramming(triggers);
      this.applied = { ruleset, model };
      this.done();
      return;
    }
    const full = tx.kind === 'full';
    if (full) this.o.log.info('full sync: replacing sluice\'s tables', { reason: tx.reason, servicePorts: model.servicePorts.length });
    // A full ruleset goes to nft in pieces, made as they are written; a transaction is small.
    let lines = 0;
    const script: Script = tx.kind === 'full'
      ? { *chunks() { lines = 0; for (const c of renderRulesetChunks(ruleset)) { lines += countLines(c); yield c; } } }
      : renderTransaction(tx.tables, ruleset);
    if (typeof script === 'string') lines = countLines(script);
    if (full) this.o.log.info('applying the full ruleset', { plannedInMs: this.clock.now() - started });
    const progress = full ? this.reportProgress(started) : undefined;
    try {
      await this.o.nft.apply(script);
    } catch (e) {
      this.triggers.unshift(...triggers); // still waiting for the kernel
      this.failed(e as Error, script, full, started, model);
      return;
    } finally {
      progress?.stop();
    }
    const before = this.applied?.model;
    this.applied = { ruleset, model };
    this.needFull = undefined;
    if (full) {
      this.lastFullAt = started;
      this.tableHandles = await this.readTableHandles();
    }
    const durationMs = this.clock.now() - started;
    this.recordSuccess(model, full, durationMs, lines);
    this.observeProgramming(triggers);
    if (typeof script === 'string') this.o.log.debug('partial sync transaction', { transaction: script });
    this.o.log.info(full ? 'full sync' : 'partial sync', {
      kind: full ? 'full' : 'partial', durationMs, lines, servicePorts: model.servicePorts.length,
      serviceChanges: changes.service, endpointChanges: changes.endpoint,
    });
    this.done();
    this.o.onSync?.({ kind: full ? 'full' : 'partial', ok: true, lines, durationMs, script: typeof script === 'string' ? script : undefined, model });
    if (this.o.conntrack) await this.o.conntrack.delete(conntrackDeletions(before, model));
    // Outside the sync's own time: the rules are in the kernel already.
    setImmediate(() => collectIfGrown());
  }

  /** kube-proxy's network programming latency: from a change in the cluster to its rules in the kernel. */
  private observeProgramming(triggers: { at: number; family: 'IPv4' | 'IPv6' }[]) {
    const now = Date.now();
    for (const t of triggers) this.o.metrics?.networkProgrammingDuration.observe({ ip_family: t.family }, Math.max(0, now - t.at) / 1000);
  }

  /** A full sync of a large cluster takes seconds in nft: say so every few seconds until it is done. */
  private reportProgress(started: number): { stop(): void } {
    let handle: unknown;
    const tick = () => {
      handle = this.clock.setTimeout(() => {
        this.o.log.info('full sync still being applied by nft', { elapsedMs: this.clock.now() - started });
        tick();
      }, PROGRESS_EVERY_MS);
    };
    tick();
    return { stop: () => this.clock.clearTimeout(handle) };
  }

  private done() {
    this.o.health?.updated();
    this.o.metrics?.syncProxyRulesLastTimestamp.set(this.clock.now() / 1000);
  }

  private failed(e: Error, script: Script, full: boolean, started: number, model: ProxyModel) {
    const durationMs = this.clock.now() - started;
    const lines = e instanceof NftError ? e.lines : [];
    this.o.log.error('nft rejected the sync; the next sync replaces the tables', {
      kind: full ? 'full' : 'partial', error: e.message, nftErrors: lines.slice(0, 20).map((l) => `line ${l.line}: ${l.message}: ${l.text}`),
      stderr: e instanceof NftError ? e.stderr.slice(0, 4000) : undefined,
    });
    this.o.metrics?.nftablesSyncFailuresTotal.inc({ ip_family: 'IPv4' });
    this.needFull = { reason: 'the previous sync failed' };
    // Retry after minSyncPeriod, as for any change.
    this.queuedAt ??= this.clock.now();
    const text = typeof script === 'string' ? script : undefined;
    this.o.onSync?.({ kind: full ? 'full' : 'partial', ok: false, lines: text ? countLines(text) : 0, durationMs, script: text, model, error: e });
  }

  private recordSuccess(model: ProxyModel, full: boolean, durationMs: number, lines: number) {
    const m = this.o.metrics;
    if (!m) return;
    const seconds = durationMs / 1000;
    for (const ip_family of ['IPv4', 'IPv6'] as const) {
      m.syncProxyRulesDuration.observe({ ip_family }, seconds);
      (full ? m.syncFullProxyRulesDuration : m.syncPartialProxyRulesDuration).observe({ ip_family }, seconds);
    }
    m.transactionLines.observe({ sync: full ? 'full' : 'partial' }, lines);
    m.servicesProgrammed.set(new Set(model.servicePorts.map((sp) => `${sp.namespace}/${sp.name}`)).size);
    m.endpointsProgrammed.set(model.servicePorts.reduce((n, sp) => n + sp.endpoints.length, 0));
    const noLocal = { IPv4: { internal: 0, external: 0 }, IPv6: { internal: 0, external: 0 } };
    for (const sp of model.servicePorts) {
      const { all, local } = categorize(sp.endpoints, this.o.nodeName);
      if (all.length === 0 || local.length > 0) continue;
      const fam = sp.family === 4 ? noLocal.IPv4 : noLocal.IPv6;
      if (sp.internalPolicyLocal) fam.internal++;
      if (sp.externalPolicyLocal && (sp.nodePort !== undefined || sp.loadBalancerIPs.length + sp.externalIPs.length > 0)) fam.external++;
    }
    for (const [ip_family, v] of Object.entries(noLocal)) {
      m.noLocalEndpoints.set({ ip_family, traffic_policy: 'internal' }, v.internal);
      m.noLocalEndpoints.set({ ip_family, traffic_policy: 'external' }, v.external);
    }
    const skipped = new Map<string, { kind: ObjectKind; reason: string; count: number }>();
    for (const p of model.problems) {
      const k = `${p.kind} ${p.reason}`;
      const entry = skipped.get(k) ?? { kind: p.kind as ObjectKind, reason: p.reason, count: 0 };
      entry.count++;
      skipped.set(k, entry);
    }
    m.setObjectsSkipped(skipped.values());
  }

  /** Each problem is logged when it appears, not at every sync. */
  private reportProblems(model: ProxyModel) {
    const now = new Set<string>();
    for (const p of model.problems) {
      const text = describeProblem(p);
      now.add(text);
      if (this.reportedProblems.has(text)) continue;
      this.o.log.warn(text, { kind: p.kind, object: p.object, reason: p.reason });
      this.o.onProblem?.(p);
    }
    this.reportedProblems = now;
  }

  private async readTableHandles(): Promise<string | undefined> {
    try {
      return handlesKey(await this.o.nft.tables());
    } catch (e) {
      this.o.log.warn('could not list nft tables', { error: (e as Error).message });
      return undefined;
    }
  }

  /**
   * A table deleted or made anew by someone else shows as a changed handle: then the tables are replaced.
   * So are they when the handles could not be read after the last full sync: nothing to compare with.
   */
  private async checkTablesUnchanged() {
    const now = await this.readTableHandles();
    if (now === undefined) return;
    if (this.tableHandles === undefined) {
      this.o.log.warn('sluice\'s table handles were not known; replacing the tables', { found: now });
      this.needFull = { reason: 'table handles unknown' };
    } else if (now !== this.tableHandles) {
      this.o.log.warn('sluice\'s tables were changed outside sluice; replacing them', { expected: this.tableHandles, found: now });
      this.needFull = { reason: 'tables changed outside sluice' };
    }
  }
}

function handlesKey(tables: TableHandle[]): string {
  return tables.map((t) => `${t.family}:${t.handle}`).sort().join(',') || '(none)';
}

function countLines(script: string): number {
  let n = 0;
  for (let i = script.indexOf('\n'); i >= 0; i = script.indexOf('\n', i + 1)) n++;
  return n;
}
