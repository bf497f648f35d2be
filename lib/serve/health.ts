// kube-proxy's /healthz and /livez (pkg/proxy/healthcheck): the proxy is unhealthy when a change has
// waited longer than healthTimeout (2 × syncPeriod) to reach the kernel; /healthz is also unhealthy
// while this Node is going away, so cloud load balancers drain it first.

import type http from 'node:http';
import type { Counter } from 'prom-client';
import type { Logger } from '../log.ts';
import type { KubeObject } from '../objects/objects.ts';
import { pathOf, sendJson, sendText, serveHttp, type BindAddress, type Serving } from './http.ts';
import type { IPFamily } from './ip-family.ts';

/** The taint Cluster Autoscaler puts on a Node it is about to delete. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

// Go's zero time.Time, which kube-proxy prints for "never".
const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface FamilyHealth {
  lastUpdated: string;
  healthy: boolean;
}

/** The JSON body of /livez, and of /healthz with nodeEligible added. */
export interface HealthReport {
  lastUpdated: string;
  currentTime: string;
  nodeEligible?: boolean;
  healthy: boolean;
  status?: Partial<Record<IPFamily, FamilyHealth>>;
}

/** What the sync loop tells the health server, and what the servers ask it. */
export interface ProxyHealth {
  /** A change is waiting to be synced (a no-op if an older one already waits). No family: all of them. */
  queued(family?: IPFamily): void;
  /** A sync completed: everything queued so far is in the kernel. No family: all of them. */
  updated(family?: IPFamily): void;
  /** The latest version of this Node, or undefined once it is gone from the API. */
  setNode(node: KubeObject | undefined): void;
  /** The proxy's own health, ignoring the Node: what /livez and the health-check node ports use. */
  healthy(): boolean;
  /** False while the Node is being deleted or carries the autoscaler's deletion taint. */
  nodeEligible(): boolean;
  livez(): HealthReport;
  healthz(): HealthReport;
}

export interface ProxyHealthOptions {
  /** How long a queued change may wait: kube-proxy uses 2 × syncPeriod (see healthTimeoutFor). */
  healthTimeoutMs: number;
  /** The families that queued()/updated() without a family apply to. */
  families?: readonly IPFamily[];
  now?: () => Date;
}

export function healthTimeoutFor(syncPeriodMs: number): number {
  return 2 * syncPeriodMs;
}

/** Whether the proxy on this Node should still be sent load-balancer traffic (kube-proxy's rule). */
export function isNodeEligible(node: KubeObject | undefined): boolean {
  if (!node) return false;
  if (node.metadata?.deletionTimestamp) return false;
  const taints: unknown = node.spec?.taints;
  return !(Array.isArray(taints) && taints.some((t) => t?.key === TO_BE_DELETED_TAINT));
}

export function createProxyHealth(opts: ProxyHealthOptions): ProxyHealth {
  const now = opts.now ?? (() => new Date());
  const families = opts.families ?? ['IPv4'];
  const lastUpdated = new Map<IPFamily, number>();
  const oldestQueued = new Map<IPFamily, number>();
  // Eligible until the first Node event says otherwise, so a starting proxy is not drained.
  let eligible = true;

  const familyHealthy = (f: IPFamily, t: number) => {
    const q = oldestQueued.get(f);
    // Unlike current kube-proxy (which ignores a family until its first sync), a change queued before
    // the first sync counts too: a proxy that never manages one must not look healthy, or a bad
    // rollout would roll on to every node.
    return q === undefined || t - q < opts.healthTimeoutMs;
  };

  // The state both endpoints report; lastUpdated is the latest sync, "never" as Go's zero time.
  const state = () => {
    const t = now().getTime();
    const status: Partial<Record<IPFamily, FamilyHealth>> = {};
    let healthy = true;
    let latest: number | undefined;
    for (const f of new Set([...lastUpdated.keys(), ...oldestQueued.keys()])) {
      const ok = familyHealthy(f, t);
      const u = lastUpdated.get(f);
      healthy &&= ok;
      if (u !== undefined && (latest === undefined || u > latest)) latest = u;
      status[f] = { lastUpdated: u === undefined ? ZERO_TIME : new Date(u).toISOString(), healthy: ok };
    }
    return {
      healthy,
      currentTime: new Date(t).toISOString(),
      lastUpdated: latest === undefined ? ZERO_TIME : new Date(latest).toISOString(),
      status: Object.keys(status).length ? status : undefined,
    };
  };

  // As kube-proxy: a healthy answer reports lastUpdated as "now", for clients that read it as liveness.
  const body = (s: ReturnType<typeof state>, healthy: boolean, nodeEligible?: boolean): HealthReport => ({
    lastUpdated: healthy ? s.currentTime : s.lastUpdated,
    currentTime: s.currentTime,
    ...(nodeEligible === undefined ? {} : { nodeEligible }),
    healthy,
    ...(s.status ? { status: s.status } : {}),
  });

  return {
    queued(family) {
      const t = now().getTime();
      for (const f of family ? [family] : families) if (!oldestQueued.has(f)) oldestQueued.set(f, t);
    },
    updated(family) {
      const t = now().getTime();
      for (const f of family ? [family] : families) {
        oldestQueued.delete(f);
        lastUpdated.set(f, t);
      }
    },
    setNode(node) {
      eligible = isNodeEligible(node);
    },
    healthy: () => state().healthy,
    nodeEligible: () => eligible,
    livez() {
      const s = state();
      return body(s, s.healthy);
    },
    healthz() {
      const s = state();
      return body(s, s.healthy && eligible, eligible);
    },
  };
}

export interface HealthProbeCounters {
  proxyHealthzTotal: Counter<'code'>;
  proxyLivezTotal: Counter<'code'>;
}

/** Answers /healthz and /livez from `health`; counts answers when given the metrics. */
export function healthHandler(health: ProxyHealth, counters?: HealthProbeCounters): http.RequestListener {
  return (req, res) => {
    const path = pathOf(req);
    if (path !== '/healthz' && path !== '/livez') return sendText(res, 404, 'not found\n');
    const r = path === '/healthz' ? health.healthz() : health.livez();
    const code = r.healthy ? 200 : 503;
    (path === '/healthz' ? counters?.proxyHealthzTotal : counters?.proxyLivezTotal)?.inc({ code: String(code) });
    sendJson(res, code, r);
  };
}

export interface HealthServerOptions {
  logger: Logger;
  counters?: HealthProbeCounters;
  retryMs?: number;
}

/** Serves /healthz and /livez on healthzBindAddress (default 0.0.0.0:10256). */
export function startHealthServer(health: ProxyHealth, bind: BindAddress, opts: HealthServerOptions): Serving {
  return serveHttp(healthHandler(health, opts.counters), bind, { logger: opts.logger, name: 'healthz', retryMs: opts.retryMs });
}
