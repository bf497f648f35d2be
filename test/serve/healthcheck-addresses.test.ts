// Health-check node ports listen where node ports are served (kube-proxy: nodePortAddresses), and
// move when the node's addresses change.
import { afterEach, expect, test } from '@jest/globals';
import { parseCIDR } from '../../lib/model/ip.ts';
import { recordingLogger } from '../../lib/log.ts';
import { createHealthCheckNodePorts, healthCheckAddresses, type HealthCheckNodePorts } from '../../lib/serve/healthcheck-nodeports.ts';
import { freePort, get } from './helpers.ts';

const cidr = (s: string) => parseCIDR(s)!;
const LOCAL = ['127.0.0.1', '::1', '10.0.0.5', '192.168.1.7', 'fd00::5'];

test('primary is the Node\'s InternalIPs; a CIDR the local addresses in it; localhost the loopback ones', () => {
  expect(healthCheckAddresses(['primary'], ['10.0.0.5', 'fd00::5'], LOCAL)).toEqual(['10.0.0.5', 'fd00::5']);
  expect(healthCheckAddresses([cidr('192.168.0.0/16')], [], LOCAL)).toEqual(['192.168.1.7']);
  expect(healthCheckAddresses(['localhost', cidr('fd00::/64')], [], LOCAL)).toEqual(['127.0.0.1', '::1', 'fd00::5']);
  expect(healthCheckAddresses([cidr('172.16.0.0/12')], [], LOCAL)).toEqual([]);
});

test('a CIDR covering a whole family: every address', () => {
  expect(healthCheckAddresses([cidr('0.0.0.0/0')], ['10.0.0.5'], LOCAL)).toEqual(['']);
});

let hc: HealthCheckNodePorts | undefined;
afterEach(async () => { await hc?.close(); });

test('ports move to the new addresses, and are served nowhere when none is left', async () => {
  const logger = recordingLogger();
  hc = createHealthCheckNodePorts({ logger });
  const port = await freePort();
  const desired = new Map([[port, { namespace: 'default', name: 'web', localEndpoints: 1 }]]);
  await hc.sync(desired, ['127.0.0.1']);
  expect((await get(port, '/', '127.0.0.1')).status).toBe(200);
  await expect(get(port, '/', '127.0.0.2')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await hc.sync(desired, ['127.0.0.2']);
  expect((await get(port, '/', '127.0.0.2')).status).toBe(200);
  await expect(get(port, '/', '127.0.0.1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await hc.sync(desired, []);
  await expect(get(port, '/', '127.0.0.2')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  expect(logger.lines.some((l) => l.level === 'warn' && l.msg.includes('not served'))).toBe(true);
});
