// portsChanged: from a model's change alone, whether ports a consumer cares about changed.
import { expect, test } from '@jest/globals';
import { portsChanged } from '../../lib/model/change.ts';
import { LiveModel } from '../../lib/model/live-model.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { ObjectStore } from '../../lib/objects/store.ts';

const svc = (name: string, ip: string, protocol: string): KubeObject => ({
  kind: 'Service', metadata: { name, namespace: 'ns', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'p', port: 53, protocol }] },
});
const slice = (service: string, protocol: string, address: string): KubeObject => ({
  kind: 'EndpointSlice', metadata: { name: `${service}-1`, namespace: 'ns', labels: { 'kubernetes.io/service-name': service } }, addressType: 'IPv4',
  ports: [{ name: 'p', port: 5353, protocol }], endpoints: [{ addresses: [address], conditions: { ready: true } }],
});
const isUdp = (sp: { protocol: string }) => sp.protocol === 'udp';

test('an endpoint change of a TCP service leaves the UDP ports; one of a UDP service does not; an unrelated model cannot say', () => {
  const store = new ObjectStore();
  for (const o of [svc('tcp', '10.96.0.1', 'TCP'), slice('tcp', 'TCP', '10.0.0.1'), svc('udp', '10.96.0.2', 'UDP'), slice('udp', 'UDP', '10.0.0.2')]) store.upsert(o);
  const live = new LiveModel('node1');
  const first = live.update(store, store.takeChanges());
  expect(portsChanged(first, first, isUdp)).toBe(false);
  expect(portsChanged(first, undefined, isUdp)).toBeUndefined();

  store.upsert(slice('tcp', 'TCP', '10.0.0.3'));
  const second = live.update(store, store.takeChanges());
  expect(portsChanged(second, first, isUdp)).toBe(false);
  expect(portsChanged(second, first, (sp) => !isUdp(sp))).toBe(true);

  store.upsert(slice('udp', 'UDP', '10.0.0.4'));
  const third = live.update(store, store.takeChanges());
  expect(portsChanged(third, second, isUdp)).toBe(true);
  expect(portsChanged(third, first, isUdp)).toBeUndefined();
});
