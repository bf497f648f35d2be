// The named counters of lib/plan/counters.ts on /metrics: new connections per service port and per
// endpoint, read from the kernel. Labels come from the counter's name (lib/plan/names.ts' scheme,
// cnt/<namespace>/<service>/<protocol>/<port>[/<address>_<port>]), so the kernel alone says what to export.
//
// Reading is costly at scale: nft reads the whole ruleset to list counters (6 s and 550 MB of nft at
// 10,000 services of 10 endpoints, bench/counters.ts). So a scrape never waits for nft except the first
// one: it gets the last reading, and starts a new one when that is older than `refreshMs` (and than ten
// times what the last reading took).
import { Counter, type Registry } from 'prom-client';
import type { TableFamily } from '../nft/ir.ts';
import type { IPFamily } from './ip-family.ts';

export interface CounterValue { name: string; packets: number; bytes: number }
export interface FamilyCounters { family: TableFamily; counters: CounterValue[] }

export interface CounterLabels { namespace: string; service: string; port: string; endpoint?: string }

/** The labels a counter's name stands for; undefined for a name that is not a sluice counter. */
export function counterLabels(name: string, family: TableFamily): CounterLabels | undefined {
  const parts = name.split('/');
  if (parts[0] !== 'cnt' || (parts.length !== 5 && parts.length !== 6)) return undefined;
  const [, namespace, service, , port, endpoint] = parts;
  if (endpoint === undefined) return { namespace, service, port };
  const m = /^(.+)_([0-9]+)$/.exec(endpoint);
  if (!m) return undefined;
  // names.ts writes an IPv6 address's colons as dots.
  return { namespace, service, port, endpoint: family === 'ip' ? `${m[1]}:${m[2]}` : `[${m[1].replaceAll('.', ':')}]:${m[2]}` };
}

/** `nft -j list counters table <family> sluice` output into counts. */
export function parseCounterListing(json: string): CounterValue[] {
  const out: CounterValue[] = [];
  for (const item of (JSON.parse(json) as { nftables: Record<string, any>[] }).nftables) {
    const c = item.counter;
    if (c && c.table === 'sluice') out.push({ name: String(c.name), packets: Number(c.packets), bytes: Number(c.bytes) });
  }
  return out;
}

/** Reads both families' counters with a runner's listCounters (a missing table reads as none). */
export function counterReader(list: (family: TableFamily) => Promise<string | undefined>): () => Promise<FamilyCounters[]> {
  return async () => Promise.all((['ip', 'ip6'] as const).map(async (family) => {
    const text = await list(family);
    return { family, counters: text === undefined ? [] : parseCounterListing(text) };
  }));
}

export interface CounterMetrics {
  /** Reads the kernel now and keeps the reading for the next scrapes. */
  refresh(): Promise<void>;
}

export interface CounterMetricsOptions {
  /** A reading older than this is replaced at the next scrape (default 30 s, nftables.syncPeriod's default). */
  refreshMs?: number;
  now?: () => number;
  onError?: (e: Error) => void;
}

export function createCounterMetrics(registry: Registry, read: () => Promise<FamilyCounters[]>, opts: CounterMetricsOptions = {}): CounterMetrics {
  const refreshMs = opts.refreshMs ?? 30_000;
  const now = opts.now ?? Date.now;
  let reading: FamilyCounters[] | undefined;
  let readAt = -Infinity;
  let took = 0;
  let inFlight: Promise<void> | undefined;

  const refresh = (): Promise<void> => {
    inFlight ??= (async () => {
      const started = now();
      try {
        reading = await read();
        readAt = now();
        took = readAt - started;
      } catch (e) {
        opts.onError?.(e as Error);
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
  const current = async (): Promise<FamilyCounters[]> => {
    if (!reading) await refresh();
    else if (now() - readAt >= Math.max(refreshMs, 10 * took)) void refresh();
    return reading ?? [];
  };

  const labelNames = ['ip_family', 'namespace', 'service', 'port'] as const;
  type Sample = { labels: CounterLabels & { ip_family: IPFamily }; c: CounterValue };
  // Each metric reads the same kept reading; only the first scrape, or one after a failed read, waits for nft.
  const scrapeSamples = async (): Promise<Sample[]> => (await current()).flatMap(({ family, counters }) => counters.flatMap((c): Sample[] => {
    const l = counterLabels(c.name, family);
    return l ? [{ labels: { ip_family: family === 'ip' ? 'IPv4' : 'IPv6', ...l }, c }] : [];
  }));
  const metric = (name: string, help: string, endpoint: boolean, value: (c: CounterValue) => number) => new Counter({
    name, help, registers: [registry],
    labelNames: endpoint ? [...labelNames, 'endpoint'] : [...labelNames],
    async collect() {
      const all = await scrapeSamples();
      this.reset();
      for (const s of all) if ((s.labels.endpoint !== undefined) === endpoint) this.inc(s.labels as any, value(s.c));
    },
  });
  // A service chain sees only a connection's first packet: its counter's packets are new connections.
  metric('sluice_service_new_connections_total', 'New connections to a service port, counted in the kernel where its chain starts', false, (c) => c.packets);
  metric('sluice_service_new_connection_bytes_total', 'Bytes of the first packets of new connections to a service port', false, (c) => c.bytes);
  metric('sluice_endpoint_new_connections_total', 'New connections sent to an endpoint of a service port, counted in the kernel where the endpoint is chosen', true, (c) => c.packets);
  return { refresh };
}
