// `sluice run`: the proxy as a long-running process. Wires an object source (manifests or the
// cluster) into the store, the sync loop, and the health, health-check node port and metrics servers.
import { execa } from 'execa';
import { parseHostPort, type ProxyConfig } from './config/kube-proxy-config.ts';
import type { ObjectSource } from './objects/objects.ts';
import type { Logger } from './log.ts';
import { ManifestDirSource } from './manifests/dir-source.ts';
import { ObjectStore } from './objects/store.ts';
import type { Problem, ProxyModel } from './model/types.ts';
import { categorizeEndpoints } from './model/categorize.ts';
import { portsChanged } from './model/change.ts';
import { checkRequirements } from './nft/requirements.ts';
import { execNft, type NftRunner } from './nft/runner.ts';
import { checkKubeProxyLeftovers, type NodeEvent } from './migration/at-start.ts';
import { localTools, type Tools } from './migration/exec.ts';
import { renderCleanup } from './nft/templates.ts';
import { createHealthCheckNodePorts, healthCheckAddresses, type HealthCheckService } from './serve/healthcheck-nodeports.ts';
import { configzView } from './config/configz.ts';
import { startNodeSettings } from './node-settings/apply.ts';
import { realNodeFiles, type NodeFiles } from './node-settings/files.ts';
import { listenOnce, closeServer } from './serve/http.ts';
import http from 'node:http';
import { createLocalhostNodePorts, localhostNodePorts, type LocalhostNodePort } from './serve/localhost-nodeports.ts';
import { createProxyHealth, healthTimeoutFor, startHealthServer } from './serve/health.ts';
import type { Serving } from './serve/http.ts';
import { startMetricsServer, type InspectViews } from './serve/metrics-server.ts';
import { servicesView } from './inspect/services.ts';
import { renderRuleset } from './nft/templates.ts';
import type { Ruleset } from './nft/ir.ts';
import { createMetrics, type SluiceMetrics } from './serve/metrics.ts';
import { counterReader, createCounterMetrics } from './serve/counter-metrics.ts';
import { execConntrack, type Conntrack } from './sync/conntrack.ts';
import { SyncLoop } from './sync/sync-loop.ts';

export interface RunOptions {
  config: ProxyConfig;
  nodeName: string;
  log: Logger;
  /** Manifests to watch instead of a cluster. */
  from?: string;
  kubeconfig?: string;
  /** Also watch v1 Endpoints (`--watch-endpoints`; needs deploy/rbac-endpoints.yaml). */
  watchEndpoints?: boolean;
  /** How often the tables are written whole (`--full-sync-period`; default: lib/sync/sync-loop.ts's hour). */
  fullSyncPeriodMs?: number;
  nft?: NftRunner;
  /** Deletes stale UDP conntrack entries (default: the conntrack tool, if installed). Given along with
   * `nft` when the rules live in another network namespace, so that the entries are deleted there too. */
  conntrack?: Conntrack;
  /** Where health-check node ports listen (default: this node's addresses in nodePortAddresses, as kube-proxy). */
  healthCheckAddresses?: string[];
  /** Where conntrack settings go (default: this machine's /proc and /sys, unless `nft` is given: the
   * rules then live elsewhere, and so does the conntrack table); false: leave them alone. */
  nodeFiles?: NodeFiles | false;
  /** The log format in effect, for /configz. */
  logFormat?: 'json' | 'text';
  /** Serve health, metrics and health-check node ports (default true). */
  serve?: boolean;
  /**
   * kube-proxy's leftovers (lib/migration): looked for and reported at start, and with `remove`
   * removed after the first sync. Default: looked for with the node's tools, unless `nft` is given
   * (the rules are somewhere else then, as in tests); false: not looked for.
   */
  kubeProxyLeftovers?: { tools: Tools; remove: boolean } | false;
}

export interface RunningProxy {
  loop: SyncLoop;
  store: ObjectStore;
  metrics: SluiceMetrics;
  servers: Serving[];
  stop(): Promise<void>;
}

/**
 * The health-check node ports this node should answer on: per service, its ready local endpoints
 * (kube-proxy counts NumLocalEndpoints from ready ones only), so a node left with only terminating
 * pods answers 503 and the load balancer drains it while those pods finish.
 */
export function healthCheckPorts(model: ProxyModel): Map<number, HealthCheckService> {
  // As kube-proxy: the service's distinct ready endpoints on this node, over all its ports.
  const ready = new Map<number, { namespace: string; name: string; addresses: Set<string> }>();
  for (const sp of model.servicePorts) {
    if (sp.healthCheckNodePort === undefined) continue;
    const entry = ready.get(sp.healthCheckNodePort) ?? { namespace: sp.namespace, name: sp.name, addresses: new Set<string>() };
    for (const e of categorizeEndpoints(sp, model.node.name, model.node.zone).localReady) entry.addresses.add(e.address);
    ready.set(sp.healthCheckNodePort, entry);
  }
  return new Map([...ready].map(([port, e]) => [port, { namespace: e.namespace, name: e.name, localEndpoints: e.addresses.size }]));
}

async function hasCommand(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}

export async function runProxy(o: RunOptions): Promise<RunningProxy> {
  const { config, log } = o;
  if (!o.nft) {
    // Said plainly once at start, rather than as an nft error in the first sync.
    for (const p of await checkRequirements()) log.error(`this machine lacks what sluice needs: ${p.message}`, { what: p.what });
  }
  // Before the first sync, as kube-proxy; a setting that cannot be written stops sluice here.
  const nodeFiles = o.nodeFiles ?? (o.nft ? false : realNodeFiles());
  const nodeSettings = nodeFiles ? startNodeSettings(config.conntrack, nodeFiles, log) : undefined;
  const store = new ObjectStore();
  const metrics = createMetrics({ families: ['IPv4', 'IPv6'] });
  const nft = o.nft ?? execNft();
  // Read from the kernel at scrape time, at most once per syncPeriod (counter-metrics.ts).
  if (config.counters?.enabled && nft.listCounters) {
    createCounterMetrics(metrics.registry, counterReader((f) => nft.listCounters!(f)), {
      refreshMs: config.syncPeriodMs, onError: (e) => log.warn('could not read nft counters', { error: e.message }),
    });
  }
  const health = createProxyHealth({ healthTimeoutMs: healthTimeoutFor(config.syncPeriodMs), families: ['IPv4', 'IPv6'] });
  const serve = o.serve ?? true;
  const servers: Serving[] = [];
  // What the kernel holds since the last sync, for /services and /rules.
  let applied: { model: ProxyModel; ruleset: Ruleset } | undefined;
  const views: InspectViews = {
    services: () => (applied ? servicesView(applied.model) : undefined),
    rules: () => (applied ? renderRuleset(applied.ruleset) : undefined),
  };
  let onHealthCheckError: ((port: number, s: HealthCheckService, e: Error) => void) | undefined;
  const healthChecks = serve ? createHealthCheckNodePorts({
    logger: log, addresses: o.healthCheckAddresses, proxyHealthy: () => health.healthy(),
    onListenError: (port, s, e) => onHealthCheckError?.(port, s, e),
  }) : undefined;
  // Opt-in, as in kube-proxy 1.37: only `localhost` in nodePortAddresses opens 127.0.0.1/::1 node ports.
  const localhost = serve && config.nodePortAddresses.includes('localhost') ? createLocalhostNodePorts({ logger: log, metrics }) : undefined;
  if (serve && config.bindAddressHardFail) await bindOrFail(config);
  if (serve) {
    servers.push(startHealthServer(health, parseHostPort(config.healthzBindAddress)!, { logger: log, counters: metrics }));
    servers.push(startMetricsServer(metrics.registry, parseHostPort(config.metricsBindAddress)!, {
      logger: log, views, configz: configzView(config, o.logFormat), profiling: config.enableProfiling,
    }));
  }
  const conntrack = o.conntrack ?? ((await hasCommand('conntrack')) ? execConntrack(log, 'conntrack', metrics) : undefined);
  if (!conntrack) log.warn('conntrack not found: stale UDP conntrack entries will not be cleared');

  // What the health-check and localhost node ports serve, as of the last sync in line.
  const served: { healthChecks: Map<number, HealthCheckService>; localhost: LocalhostNodePort[] } = { healthChecks: new Map(), localhost: [] };
  let onProblem: ((p: Problem) => void) | undefined;
  let afterFirstSync: (() => Promise<void>) | undefined; // removes kube-proxy's leftovers when asked
  let nodeEvent: NodeEvent | undefined;
  const loop = new SyncLoop({
    store, config, nodeName: o.nodeName, nft, log, metrics, health, conntrack, fullSyncPeriodMs: o.fullSyncPeriodMs,
    onProblem: (p) => onProblem?.(p),
    onInLine: (model, ruleset) => {
      const before = applied?.model;
      applied = { model, ruleset };
      // Made again only when a port they are made of changed: the model says which, without a walk of every port.
      if (portsChanged(model, before, (sp) => sp.healthCheckNodePort !== undefined) !== false) served.healthChecks = healthCheckPorts(model);
      if (portsChanged(model, before, (sp) => sp.protocol === 'tcp' && sp.nodePort !== undefined) !== false) served.localhost = localhostNodePorts(model);
      void healthChecks?.sync(served.healthChecks, o.healthCheckAddresses ?? healthCheckAddresses(config.nodePortAddresses, model.node.internalIPs));
      nodeSettings?.synced();
      void localhost?.sync(served.localhost);
      void afterFirstSync?.();
    },
  });

  let source: ObjectSource | undefined;
  try {
    if (o.from) {
      source = new ManifestDirSource(o.from, log);
    } else {
      // Imported here so that running from manifests never loads the Kubernetes client.
      const { ClusterSource } = await import('./k8s/cluster-source.ts');
      const { loadKubeConfig } = await import('./k8s/kubeconfig.ts');
      const { serviceEvents, nodeEvents } = await import('./k8s/events.ts');
      // --kubeconfig first, then the configuration's clientConnection.kubeconfig.
      const kubeConfig = loadKubeConfig(o.kubeconfig ?? (config.clientConnection.kubeconfig || undefined));
      const events = serviceEvents(kubeConfig, o.nodeName, log);
      onProblem = (p) => void events.problem(p);
      nodeEvent = nodeEvents(kubeConfig, o.nodeName, log);
      onHealthCheckError = (port, s, e) => void events.healthCheckFailed(s.namespace, s.name, port, e);
      source = new ClusterSource({
        kubeConfig, nodeName: o.nodeName, logger: log,
        onRestart: (kind) => metrics.informerRestartsTotal.inc({ kind }),
        watchEndpoints: o.watchEndpoints,
        serviceProxyName: config.serviceProxyName,
      });
    }
    const leftovers = o.kubeProxyLeftovers ?? (o.nft ? false : { tools: localTools(), remove: false });
    if (leftovers) afterFirstSync = await checkKubeProxyLeftovers({ ...leftovers, log, gauge: metrics.kubeProxyLeftovers, nodeEvent });
    loop.start();
    await source.start(store);
  } catch (e) {
    // A source that cannot start (no such folder, no usable kubeconfig) must leave nothing running:
    // the loop's periodic timer and the servers would keep the process alive after the error.
    await source?.stop().catch(() => {});
    await loop.stop();
    await healthChecks?.close();
    await localhost?.close();
    await Promise.all(servers.map((s) => s.close()));
    throw e;
  }
  log.info('sluice running', { node: o.nodeName, source: o.from ? `manifests ${o.from}` : 'cluster' });

  return {
    loop, store, metrics, servers,
    async stop() {
      await source!.stop();
      await loop.stop();
      await healthChecks?.close();
      await localhost?.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/**
 * bindAddressHardFail: kube-proxy exits when its healthz or metrics server cannot bind, instead of
 * retrying. One bind of each address here, released at once for the server that follows.
 */
async function bindOrFail(config: ProxyConfig): Promise<void> {
  for (const field of ['healthzBindAddress', 'metricsBindAddress'] as const) {
    const probe = http.createServer();
    try {
      await listenOnce(probe, parseHostPort(config[field])!);
    } catch (e) {
      throw new Error(`cannot listen on ${field} ${config[field]} and bindAddressHardFail is set: ${(e as Error).message}`);
    } finally {
      await closeServer(probe);
    }
  }
}

/** `sluice cleanup`: removes sluice's tables, and nothing else. */
export async function cleanup(nft: NftRunner, log: Logger): Promise<void> {
  await nft.apply(renderCleanup(['ip', 'ip6']));
  log.info('removed sluice\'s tables (ip sluice, ip6 sluice), if there were any');
}
