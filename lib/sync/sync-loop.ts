// The proxy's loop: keeps the kernel's rules equal to what the objects say. Changes are coalesced
// (at most one sync per minSyncPeriod), every syncPeriod a resync checks that sluice's tables are
// still the ones it wrote, and each sync sends one transaction with only what changed. After a
// failure the next sync replaces the tables whole.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import { TRIGGER_TIME_ANNOTATION, type KubeObject, type ObjectKind } from '../objects/objects.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../objects/store.ts';
import type { Problem, ProxyModel, ServicePort } from '../model/types.ts';
import type { IPFamily } from '../serve/ip-family.ts';
import { diffTable, isEmptyChange, skeletonChange } from '../nft/diff.ts';
import { inventoryOf } from '../nft/inventory.ts';
import type { FamilyRuleset, Ruleset, TableFamily } from '../nft/ir.ts';
import { NftError, type NftRunner, type Script, type TableHandle } from '../nft/runner.ts';
import { newTableId } from '../nft/operations.ts';
import { renderTableChunks, renderTransaction } from '../nft/templates.ts';
import { describeProblem } from '../render.ts';
import { LivePlan } from '../plan/live-plan.ts';
import { portsChanged } from '../model/change.ts';
import { LiveModel } from '../model/live-model.ts';
import type { SluiceMetrics } from '../serve/metrics.ts';
import { ProgrammedTally } from './programmed.ts';
import type { ProxyHealth } from '../serve/health.ts';
import type { Conntrack } from './conntrack.ts';
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
  /** In-process time of this sync's phases (ms, wall time): nft's own time is in none of them. */
  phasesMs: SyncPhases;
}

/** model: objects to model; plan: model to ruleset; diff and render: the partial transactions of all families (render: also a full sync's script, as nft reads it). */
export interface SyncPhases { model: number; plan: number; diff: number; render: number }

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
  /** Called after every sync that leaves the kernel holding the whole ruleset, also one that had nothing to send. */
  onInLine?: (model: ProxyModel, ruleset: Ruleset) => void;
  fullSyncPeriodMs?: number;
}

export class SyncLoop {
  private readonly o: SyncLoopOptions;
  private readonly clock: Clock;
  /** The model the conntrack reconciler last saw, and its UDP service ports. */
  private reconciled?: { model: ProxyModel; udp: ServicePort[] };
  // Model and plan follow the store's changes from sync to sync; made anew when a sync fails midway.
  private live!: { model: LiveModel; plan: LivePlan };
  private readonly programmed: ProgrammedTally;
  private readonly families = new Map<TableFamily, FamilyState>([['ip', { lastFullAt: 0 }], ['ip6', { lastFullAt: 0 }]]);
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
    this.programmed = new ProgrammedTally(o.nodeName);
    this.startOver();
  }

  /** The next sync builds the model and plans the ruleset from all objects. */
  private startOver() {
    this.live = { model: new LiveModel(this.o.nodeName, { configServiceCIDRs: this.o.config.serviceCIDRs, serviceProxyName: this.o.config.serviceProxyName }), plan: new LivePlan() };
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
      for (const ip_family of ['IPv4', 'IPv6'] as const) this.o.metrics?.syncProxyRulesLastQueuedTimestamp.set({ ip_family }, this.queuedAt / 1000);
    }
    if (this.running || this.timer !== undefined) return;
    const wait = Math.max(0, this.lastSyncAt + this.o.config.minSyncPeriodMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.sync().catch((e) => {
        this.o.log.error('sync failed', { error: (e as Error).stack ?? String(e) });
        // The store's changes were taken: only a build from all objects is sure to hold them.
        this.startOver();
        for (const st of this.families.values()) {
          st.needFull = { reason: 'the previous sync failed' };
          st.applied = undefined;
        }
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

    const phases: SyncPhases = { model: 0, plan: 0, diff: 0, render: 0 };
    let at = performance.now();
    const model = this.live.model.update(this.o.store, this.o.store.takeChanges());
    phases.model = performance.now() - at;
    this.reportProblems(model);
    at = performance.now();
    const ruleset = this.live.plan.plan(model, this.o.config);
    phases.plan = performance.now() - at;

    const periodic = this.checkTables;
    if (this.checkTables) await this.checkTablesUnchanged();
    this.checkTables = false;

    // One transaction per family: a table the kernel refuses holds back only its own family.
    const results: FamilySyncResult[] = [];
    for (const t of ruleset.tables) {
      const r = await this.syncFamily(t, model, started, phases);
      if (r) results.push(r);
    }
    if (results.length === 0) {
      // minSyncPeriod spaces out what is sent to the kernel: a sync that sent nothing (a periodic check,
      // most often) does not make the next change wait.
      this.lastSyncAt = lastSyncBefore;
      this.observeProgramming(triggers);
      this.done(ruleset.tables.map((t) => t.family));
      this.recordModel(model);
      this.o.onInLine?.(model, ruleset);
      // An endpoint can stop serving without any rule changing (it was not chosen, or others are ready):
      // its flows are stale all the same.
      await this.reconcileConntrack(model, periodic);
      return;
    }
    const failed = results.filter((r) => r.error);
    const waiting = new Set(failed.map((r) => r.family));
    this.triggers.unshift(...triggers.filter((t) => waiting.has(t.family))); // still waiting for the kernel
    this.observeProgramming(triggers.filter((t) => !waiting.has(t.family)));
    const ok = results.filter((r) => !r.error);
    this.done(ok.map((r) => r.family));
    this.recordModel(model);
    const full = results.some((r) => r.full);
    const lines = results.reduce((n, r) => n + r.lines, 0);
    const durationMs = this.clock.now() - started;
    if (failed.length === 0) {
      this.o.log.info(full ? 'full sync' : 'partial sync', {
        kind: full ? 'full' : 'partial', durationMs, lines, servicePorts: model.servicePorts.length,
        serviceChanges: changes.service, endpointChanges: changes.endpoint,
      });
    }
    const texts = results.map((r) => r.script);
    const script = texts.every((t) => t !== undefined) ? texts.join('') : undefined;
    this.o.onSync?.({ kind: full ? 'full' : 'partial', ok: failed.length === 0, lines, durationMs, script, model, error: failed[0]?.error, phasesMs: phases });
    if (failed.length > 0) return;
    this.o.onInLine?.(model, ruleset);
    await this.reconcileConntrack(model, periodic);
    // Outside the sync's own time: the rules are in the kernel already.
    setImmediate(() => collectIfGrown());
  }

  /** Brings one family's table to `t`: a partial transaction, or a full sync; undefined when there was nothing to send. */
  private async syncFamily(t: FamilyRuleset, model: ProxyModel, started: number, phases: SyncPhases): Promise<FamilySyncResult | undefined> {
    const st = this.families.get(t.family)!;
    if (!st.needFull && !st.applied) st.needFull = { reason: 'nothing applied yet' };
    if (!st.needFull && started - st.lastFullAt >= (this.o.fullSyncPeriodMs ?? FULL_SYNC_PERIOD_MS)) st.needFull = { reason: 'periodic full sync' };
    const skeleton = !st.needFull && skeletonChange(st.applied!, t);
    if (skeleton) st.needFull = { reason: skeleton };

    let script: Script;
    let tableId: number | undefined;
    let lines = 0;
    const full = st.needFull !== undefined;
    if (full) {
      // Over tables sluice did not write itself (or no longer knows), the kernel says what is there.
      const existing = st.applied ? inventoryOf(st.applied) : await this.o.nft.inventory(t.family, { counters: this.o.config.counters?.enabled });
      this.o.log.info('full sync: writing the table whole', { family: t.family, reason: st.needFull!.reason, servicePorts: model.servicePorts.length, tableExists: existing !== undefined });
      // A full ruleset goes to nft in pieces, made as they are written.
      tableId = newTableId();
      const start = { existing, tableId };
      script = { *chunks() {
        lines = 0;
        for (const c of timed(phases, 'render', renderTableChunks(t, start))) { lines += countLines(c); yield c; }
      } };
    } else {
      let at = performance.now();
      const change = diffTable(st.applied!, t);
      phases.diff += performance.now() - at;
      if (isEmptyChange(change)) {
        st.applied = t;
        return undefined;
      }
      at = performance.now();
      script = renderTransaction([change]);
      lines = countLines(script);
      phases.render += performance.now() - at;
    }
    const familyStarted = this.clock.now();
    const progress = full ? this.reportProgress(familyStarted) : undefined;
    const ip_family = t.family === 'ip' ? 'IPv4' : 'IPv6';
    try {
      await this.o.nft.apply(script);
    } catch (e) {
      const error = e as Error;
      this.failed(error, script, full, ip_family);
      // The kernel kept what it had; what that is is read again before the next (full) sync.
      st.needFull = { reason: 'the previous sync failed' };
      st.applied = undefined;
      return { family: ip_family, full, lines, script: typeof script === 'string' ? script : undefined, error };
    } finally {
      progress?.stop();
    }
    st.applied = t;
    st.needFull = undefined;
    if (full) {
      st.lastFullAt = started;
      st.handle = tableId;
    }
    const seconds = (this.clock.now() - familyStarted) / 1000;
    const m = this.o.metrics;
    m?.syncProxyRulesDuration.observe({ ip_family }, seconds);
    (full ? m?.syncFullProxyRulesDuration : m?.syncPartialProxyRulesDuration)?.observe({ ip_family }, seconds);
    m?.transactionLines.observe({ sync: full ? 'full' : 'partial' }, lines);
    if (typeof script === 'string') this.o.log.debug('partial sync transaction', { family: t.family, transaction: script });
    return { family: ip_family, full, lines, script: typeof script === 'string' ? script : undefined };
  }

  /**
   * UDP conntrack entries go stale only when a UDP service port changes (its endpoints, its fronts):
   * the reconciler reads the kernel's entries then, and at every periodic check, not at every sync.
   */
  private async reconcileConntrack(model: ProxyModel, periodic: boolean) {
    if (!this.o.conntrack) return;
    const last = this.reconciled;
    if (!periodic && last && sameUdpPorts(last, model)) {
      this.reconciled = { model, udp: last.udp };
      return;
    }
    this.reconciled = { model, udp: model.servicePorts.filter(isUdp) };
    await this.o.conntrack.reconcile(model);
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

  private done(families: (TableFamily | IPFamily)[]) {
    const now = this.clock.now() / 1000;
    for (const f of families) {
      const ip_family: IPFamily = f === 'ip' || f === 'IPv4' ? 'IPv4' : 'IPv6';
      this.o.health?.updated(ip_family);
      this.o.metrics?.syncProxyRulesLastTimestamp.set({ ip_family }, now);
    }
  }

  private failed(e: Error, script: Script, full: boolean, ip_family: IPFamily) {
    const lines = e instanceof NftError ? e.lines : [];
    this.o.log.error('nft rejected the sync; the next sync of this family is a full one', {
      kind: full ? 'full' : 'partial', ip_family, error: e.message, nftErrors: lines.slice(0, 20).map((l) => `line ${l.line}: ${l.message}: ${l.text}`),
      stderr: e instanceof NftError ? e.stderr.slice(0, 4000) : undefined,
      transaction: typeof script === 'string' && script.length < 20_000 ? script : undefined,
    });
    this.o.metrics?.nftablesSyncFailuresTotal.inc({ ip_family });
    // Retry after minSyncPeriod, as for any change.
    this.queuedAt ??= this.clock.now();
  }

  /** What the sync programmed, once per sync whatever the number of families. */
  private recordModel(model: ProxyModel) {
    const m = this.o.metrics;
    if (!m) return;
    const counts = this.programmed.count(model);
    m.servicesProgrammed.set(counts.services);
    m.endpointsProgrammed.set(counts.endpoints);
    for (const [ip_family, v] of Object.entries(counts.noLocal)) {
      m.noLocalEndpoints.set({ ip_family, traffic_policy: 'internal' }, v.internal);
      m.noLocalEndpoints.set({ ip_family, traffic_policy: 'external' }, v.external);
    }
    if (counts.topologyChanged) m.setTopology(counts.topologies);
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

  /**
   * A table deleted or made anew by someone else holds another table id than the one sluice's last
   * full sync wrote, or none: then that table gets a full sync over what the kernel has.
   */
  private async checkTablesUnchanged() {
    let tables: TableHandle[];
    try {
      tables = await this.o.nft.tables();
    } catch (e) {
      this.o.log.warn('could not list nft tables', { error: (e as Error).message });
      return;
    }
    for (const [family, st] of this.families) {
      if (st.needFull || !st.applied) continue;
      const now = tables.find((t) => t.family === family)?.handle;
      if (now !== st.handle) {
        this.o.log.warn('sluice\'s table was changed outside sluice; syncing it whole', { family, expected: st.handle, found: now ?? '(none)' });
        st.needFull = { reason: 'table changed outside sluice' };
        st.applied = undefined;
      }
    }
  }
}

interface FamilySyncResult {
  family: IPFamily;
  full: boolean;
  lines: number;
  script?: string;
  error?: Error;
}

/** One family's table: what sluice last applied there, and whether the next sync must be a full one. */
interface FamilyState {
  applied?: FamilyRuleset;
  needFull?: { reason: string };
  lastFullAt: number;
  /** The table id its last full sync wrote (lib/nft/operations.ts): the periodic check compares the kernel's with it. */
  handle?: number;
}

/** The chunks of `gen`, the time spent making them added to phases[phase]. */
function* timed(phases: SyncPhases, phase: keyof SyncPhases, gen: Iterator<string>): Generator<string> {
  for (;;) {
    const at = performance.now();
    const next = gen.next();
    phases[phase] += performance.now() - at;
    if (next.done) return;
    yield next.value;
  }
}

const isUdp = (sp: ServicePort) => sp.protocol === 'udp';

/** Whether `model` has the UDP service ports (the same objects) the reconciler last saw. */
function sameUdpPorts(last: { model: ProxyModel; udp: ServicePort[] }, model: ProxyModel): boolean {
  const changed = portsChanged(model, last.model, isUdp);
  if (changed !== undefined) return !changed;
  const udp = model.servicePorts.filter(isUdp);
  return udp.length === last.udp.length && udp.every((sp, i) => sp === last.udp[i]);
}

function countLines(script: string): number {
  let n = 0;
  for (let i = script.indexOf('\n'); i >= 0; i = script.indexOf('\n', i + 1)) n++;
  return n;
}
