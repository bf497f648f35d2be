// Counter names back into labels, and the reading that scrapes share.
import { Registry } from 'prom-client';
import { counterLabels, createCounterMetrics } from '../../lib/serve/counter-metrics.ts';

test('labels from counter names, IPv6 colons given back', () => {
  expect(counterLabels('cnt/ns/web/tcp/http', 'ip')).toEqual({ namespace: 'ns', service: 'web', port: 'http' });
  expect(counterLabels('cnt/ns/web/tcp/80/10.0.0.1_9376', 'ip')).toEqual({ namespace: 'ns', service: 'web', port: '80', endpoint: '10.0.0.1:9376' });
  expect(counterLabels('cnt/ns/six/tcp/80/fd00.244.1..11_9376', 'ip6')).toMatchObject({ endpoint: '[fd00:244:1::11]:9376' });
  expect(counterLabels('other', 'ip')).toBeUndefined();
});

test('a scrape waits only for the first reading; a stale one is replaced in the background', async () => {
  let reads = 0;
  let t = 0;
  const registry = new Registry();
  createCounterMetrics(registry, async () => { reads++; return [{ family: 'ip', counters: [{ name: 'cnt/ns/web/tcp/80', packets: reads, bytes: 60 * reads }] }]; }, { refreshMs: 1000, now: () => t });
  const value = async () => (await registry.getMetricsAsJSON()).find((m) => m.name === 'sluice_service_new_connections_total')!.values[0].value;
  expect(await value()).toBe(1);
  expect(await value()).toBe(1);
  expect(reads).toBe(1);
  t = 1000;
  expect(await value()).toBe(1); // the old reading, a new one under way
  await new Promise((r) => setTimeout(r, 20));
  expect(await value()).toBe(2);
});
