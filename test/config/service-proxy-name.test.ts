// serviceProxyName: without it sluice serves the Services without the service-proxy-name label (as
// kube-proxy); with it, exactly those labelled with that name.
import { expect, test } from '@jest/globals';
import { buildModel } from '../../lib/model/build.ts';
import { SERVICE_PROXY_NAME_LABEL } from '../../lib/model/service.ts';

const svc = (name: string, ip: string, label?: string) => ({
  kind: 'Service', apiVersion: 'v1',
  metadata: { name, namespace: 'default', ...(label === undefined ? {} : { labels: { [SERVICE_PROXY_NAME_LABEL]: label } }) },
  spec: { clusterIP: ip, ports: [{ port: 80 }] },
});
const objects = () => ({
  services: [svc('plain', '10.96.0.1'), svc('ours', '10.96.0.2', 'sluice'), svc('theirs', '10.96.0.3', 'cilium')],
  endpointSlices: [], endpoints: [], nodes: [],
}) as any;
const served = (serviceProxyName?: string) => [...new Set(buildModel(objects(), 'node1', { serviceProxyName }).servicePorts.map((p) => p.name))];

test('without serviceProxyName: only unlabelled Services', () => {
  expect(served()).toEqual(['plain']);
});

test('with serviceProxyName: exactly the Services labelled with it', () => {
  expect(served('sluice')).toEqual(['ours']);
  expect(served('cilium')).toEqual(['theirs']);
  expect(served('nobody')).toEqual([]);
});
