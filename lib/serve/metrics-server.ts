// kube-proxy's metrics port (default 127.0.0.1:10249): /metrics, plus the two cheap extras kube-proxy
// serves there and tools probe: /healthz (a plain "ok" that says the process answers, nothing more)
// and /proxyMode, and /configz (the effective configuration, as kube-proxy's); with enableProfiling,
// a CPU profile endpoint (profiling.ts). sluice adds two read-only views: /services (JSON, as
// `sluice services --output json`) and /rules (the ruleset of the last successful sync, as nft text).

import type http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import { pathOf, sendJson, sendText, serveHttp, type BindAddress, type Serving } from './http.ts';
import { profilingHandler } from './profiling.ts';

/** What the inspection views show; undefined until the first successful sync. */
export interface InspectViews {
  services(): unknown | undefined;
  rules(): string | undefined;
}

export interface MetricsServerOptions {
  logger: Logger;
  views?: InspectViews;
  /** What /proxyMode answers. */
  proxyMode?: string;
  /** What /configz answers (configzView of the configuration); absent: 404. */
  configz?: unknown;
  /** Serve /debug/pprof/profile (the configuration's enableProfiling). */
  profiling?: boolean;
  retryMs?: number;
}

function inspect(req: http.IncomingMessage, res: http.ServerResponse, show: () => void): void {
  // Views, not controls: nothing here changes anything.
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('only GET\n');
    return;
  }
  show();
}

export function metricsHandler(registry: Registry, proxyMode = 'nftables', views?: InspectViews, extras: { configz?: unknown; profiling?: boolean } = {}): http.RequestListener {
  const profiling = extras.profiling ? profilingHandler() : undefined;
  return (req, res) => {
    const path = pathOf(req);
    if (path === '/configz' && extras.configz !== undefined) return inspect(req, res, () => sendJson(res, 200, extras.configz));
    if (profiling && path.startsWith('/debug/pprof')) return inspect(req, res, () => { if (!profiling(req, res, path)) sendText(res, 404, 'not found\n'); });
    if (views && (path === '/services' || path === '/rules')) {
      return inspect(req, res, () => {
        const body = path === '/services' ? views.services() : views.rules();
        if (body === undefined) return sendText(res, 503, 'no successful sync yet\n');
        return typeof body === 'string' ? sendText(res, 200, body) : sendJson(res, 200, body);
      });
    }
    switch (path) {
      case '/metrics':
        registry.metrics().then(
          (text) => sendText(res, 200, text, registry.contentType),
          (err) => sendText(res, 500, `collecting metrics failed: ${err}\n`),
        );
        return;
      case '/healthz':
        return sendText(res, 200, 'ok');
      case '/proxyMode':
        return sendText(res, 200, proxyMode);
      default:
        return sendText(res, 404, 'not found\n');
    }
  };
}

/** Serves the registry on metricsBindAddress (default 127.0.0.1:10249). */
export function startMetricsServer(registry: Registry, bind: BindAddress, opts: MetricsServerOptions): Serving {
  return serveHttp(metricsHandler(registry, opts.proxyMode, opts.views, { configz: opts.configz, profiling: opts.profiling }), bind, { logger: opts.logger, name: 'metrics', retryMs: opts.retryMs });
}
