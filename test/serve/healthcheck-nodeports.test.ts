import { afterEach, describe, expect, test } from '@jest/globals';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { recordingLogger } from '../../lib/log.ts';
import { buildModel } from '../../lib/model/build.ts';
import { healthCheckPorts } from '../../lib/run.ts';
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

  test('the body and headers are kube-proxy\'s, byte for byte (service_health.go)', async () => {
    const { hc } = make();
    const port = await freePort();
    await hc.sync(new Map([[port, svc('web', 2, 'shop')]]));
    const r = await get(port, '/');
    expect(r.body).toBe('{\n\t"service": {\n\t\t"namespace": "shop",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-load-balancing-endpoint-weight']).toBe('2');
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.body)));
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

// healthCheckPorts (lib/run.ts) over a model: what each port reports comes from categorizeEndpoints' localReady.
describe('health-check node ports from the model', () => {
  const NODE = 'node1';
  const service: KubeObject = {
    kind: 'Service', metadata: { name: 'web', namespace: 'shop' },
    spec: {
      type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: 'Local', healthCheckNodePort: 0,
      ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'https', port: 443, nodePort: 30443 }],
    },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } },
  };
  const endpoint = (ip: string, nodeName: string, conditions: Record<string, boolean>) => ({ addresses: [ip], nodeName, conditions });
  const model = (port: number, endpoints: unknown[]) => buildModel({
    services: [{ ...service, spec: { ...service.spec, healthCheckNodePort: port } }],
    endpointSlices: [{
      kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }], endpoints,
    }],
    endpoints: [], nodes: [],
  }, NODE);

  test('a node left with only terminating (still serving) pods answers 503, while another node\'s are ready', async () => {
    const port = await freePort();
    const m = model(port, [
      endpoint('10.244.1.5', NODE, { ready: false, serving: true, terminating: true }),
      endpoint('10.244.2.5', 'node2', { ready: true }),
    ]);
    // The rules still send the node's traffic to its terminating pod; the balancer is told to drain it.
    expect(healthCheckPorts(m)).toEqual(new Map([[port, { namespace: 'shop', name: 'web', localEndpoints: 0 }]]));
    const { hc } = make();
    await hc.sync(healthCheckPorts(m));
    const r = await getJson(port, '/');
    expect(r.status).toBe(503);
    expect(r.json.localEndpoints).toBe(0);
    expect(r.headers['x-load-balancing-endpoint-weight']).toBe('0');
  });

  test('counts this node\'s ready endpoints only, once per service whatever its number of ports', async () => {
    const port = await freePort();
    const m = model(port, [
      endpoint('10.244.1.5', NODE, { ready: true }),
      endpoint('10.244.1.6', NODE, { ready: true }),
      endpoint('10.244.1.7', NODE, { ready: false, serving: true, terminating: true }),
      endpoint('10.244.1.8', NODE, { ready: false, serving: false }),
      endpoint('10.244.2.5', 'node2', { ready: true }),
    ]);
    expect(healthCheckPorts(m).get(port)?.localEndpoints).toBe(2);
    const { hc } = make();
    await hc.sync(healthCheckPorts(m));
    expect((await getJson(port, '/')).status).toBe(200);
  });

  test('counts distinct ready endpoints over all the service\'s ports, as kube-proxy, when the ports have different ones', () => {
    const m = buildModel({
      services: [{ ...service, spec: { ...service.spec, healthCheckNodePort: 32100 } }],
      endpointSlices: ['http', 'https'].map((name, i) => ({
        kind: 'EndpointSlice' as const, metadata: { name: `web-${name}`, namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4', ports: [{ name, port: 8080 + i }],
        endpoints: [endpoint(`10.244.1.${5 + i}`, NODE, { ready: true }), endpoint('10.244.1.9', NODE, { ready: true })],
      })),
      endpoints: [], nodes: [],
    }, NODE);
    // http: .5 and .9; https: .6 and .9: three distinct endpoints, not the two of either port.
    expect(healthCheckPorts(m).get(32100)?.localEndpoints).toBe(3);
  });
});
