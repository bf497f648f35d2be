// kube-proxy's metrics port (default 127.0.0.1:10249): /metrics, plus the two cheap extras kube-proxy
// serves there and tools probe: /healthz (a plain "ok" that says the process answers, nothing more)
// and /proxyMode.

import type http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import { pathOf, sendText, serveHttp, type BindAddress, type Serving } from './http.ts';

export interface MetricsServerOptions {
  logger: Logger;
  /** What /proxyMode answers. */
  proxyMode?: string;
  retryMs?: number;
}

export function metricsHandler(registry: Registry, proxyMode = 'nftables'): http.RequestListener {
  return (req, res) => {
    switch (pathOf(req)) {
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
  return serveHttp(metricsHandler(registry, opts.proxyMode), bind, { logger: opts.logger, name: 'metrics', retryMs: opts.retryMs });
}
