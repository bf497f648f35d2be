import { afterEach, describe, expect, test } from '@jest/globals';
import { recordingLogger } from '../../lib/log.ts';
import { createHealthCheckNodePorts, type HealthCheckNodePorts, type HealthCheckService } from '../../lib/serve/healthcheck-nodeports.ts';
import { freePort, get, getJson, occupy } from './helpers.ts';

let hc: HealthCheckNodePorts | undefined;
afterEach(async () => {
  await hc?.close();
  hc = undefined;
});

const svc = (name: string, localEndpoints: number, namespace = 'default'): HealthCheckService => ({ namespace, name, localEndpoints });

function make(opts: { proxyHealthy?: () => boolean; onListenError?: (port: number, s: HealthCheckService, e: Error) => void } = {}) {
  const logger = recordingLogger();
  hc = createHealthCheckNodePorts({ logger, addresses: ['127.0.0.1'], ...opts });
  return { hc, logger };
}

async function refused(port: number): Promise<boolean> {
  try {
    await get(port, '/');
    return false;
  } catch (err: any) {
    return err.code === 'ECONNREFUSED';
  }
}

describe('health-check node ports', () => {
  test('opens a port per service, answering 200 with local endpoints and 503 without', async () => {
    const { hc } = make();
    const [p1, p2] = [await freePort(), await freePort()];
    await hc.sync(new Map([[p1, svc('web', 2)], [p2, svc('db', 0, 'prod')]]));
    expect(hc.ports()).toEqual([p1, p2].sort((a, b) => a - b));

    const web = await getJson(p1, '/');
    expect(web.status).toBe(200);
    expect(web.json).toEqual({ service: { namespace: 'default', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true });
    expect(web.headers['content-type']).toBe('application/json');
    expect(web.headers['x-load-balancing-endpoint-weight']).toBe('2');

    const db = await getJson(p2, '/healthz'); // any path, as load balancers probe what they are told
    expect(db.status).toBe(503);
    expect(db.json).toEqual({ service: { namespace: 'prod', name: 'db' }, localEndpoints: 0, serviceProxyHealthy: true });
  });

  test('endpoint counts change in place, on the same open port', async () => {
    const { hc, logger } = make();
    const port = await freePort();
    await hc.sync(new Map([[port, svc('web', 1)]]));
    expect((await get(port, '/')).status).toBe(200);

    await hc.sync(new Map([[port, svc('web', 0)]]));
    const down = await getJson(port, '/');
    expect(down.status).toBe(503);
    expect(down.json.localEndpoints).toBe(0);

    await hc.sync(new Map([[port, svc('web', 3)]]));
    const up = await getJson(port, '/');
    expect(up.status).toBe(200);
    expect(up.json.localEndpoints).toBe(3);
    expect(logger.lines.filter((l) => l.msg === 'opened health check node port')).toHaveLength(1);
  });

  test('closes the port when the service goes: connection refused afterwards', async () => {
    const { hc } = make();
    const [keep, drop] = [await freePort(), await freePort()];
    await hc.sync(new Map([[keep, svc('keep', 1)], [drop, svc('drop', 1)]]));
    expect((await get(drop, '/')).status).toBe(200);

    await hc.sync(new Map([[keep, svc('keep', 1)]]));
    expect(await refused(drop)).toBe(true);
    expect((await get(keep, '/')).status).toBe(200);
    expect(hc.ports()).toEqual([keep]);

    await hc.sync(new Map());
    expect(await refused(keep)).toBe(true);
    expect(hc.ports()).toEqual([]);
  });

  test('an unhealthy proxy answers 503 even with local endpoints', async () => {
    let healthy = true;
    const { hc } = make({ proxyHealthy: () => healthy });
    const port = await freePort();
    await hc.sync(new Map([[port, svc('web', 2)]]));
    expect((await get(port, '/')).status).toBe(200);
    healthy = false;
    const r = await getJson(port, '/');
    expect(r.status).toBe(503);
    expect(r.json.serviceProxyHealthy).toBe(false);
  });

  test('a port that will not bind is logged, reported, and retried on the next sync', async () => {
    const failures: number[] = [];
    const { hc, logger } = make({ onListenError: (port) => failures.push(port) });
    const [busy, fine] = [await freePort(), await freePort()];
    const squatter = await occupy(busy);

    await expect(hc.sync(new Map([[busy, svc('late', 1)], [fine, svc('fine', 1)]]))).resolves.toBeUndefined();
    expect(hc.ports()).toEqual([fine]);
    expect(failures).toEqual([busy]);
    expect(logger.lines.some((l) => l.level === 'error' && l.fields?.port === busy && String(l.fields?.error).includes('EADDRINUSE'))).toBe(true);
    expect((await get(fine, '/')).status).toBe(200);

    await squatter.release();
    await hc.sync(new Map([[busy, svc('late', 1)], [fine, svc('fine', 1)]]));
    expect(hc.ports()).toEqual([busy, fine].sort((a, b) => a - b));
    expect((await getJson(busy, '/')).json.service.name).toBe('late');
  });

  test('close() shuts every port', async () => {
    const { hc } = make();
    const port = await freePort();
    await hc.sync(new Map([[port, svc('web', 1)]]));
    await hc.close();
    expect(await refused(port)).toBe(true);
  });
});
