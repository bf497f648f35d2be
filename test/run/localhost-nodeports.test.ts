// `sluice run --from DIR` on node1 of the lab with `nodePortAddresses: [primary, localhost]`: a
// process on node1 itself connects to 127.0.0.1:<nodePort> (and [::1]) and gets a pod's answer
// through sluice's userspace proxy; without `localhost`, nothing listens there. The node port on
// node1's own address answers either way (the rules serve it; they never DNAT loopback).
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLab, labAvailable, type Lab } from '../../lab/lab.ts';
import { createWorkspace, removeManifest, writeManifest, type Workspace } from './support/manifests.ts';
import { killAllSluices, startSluice, type SluiceProcess } from './support/sluice-process.ts';

const available = await labAvailable();
if (!available.ok) console.warn(`skipping sluice run localhost node port tests: ${available.reason}`);
const maybe = available.ok ? describe : describe.skip;
const skipNote = available.ok ? '' : ` (skipped: ${available.reason})`;

// pa1 on node1, pb1 on node2, both answering on 9376 with their names.
const nodePortService = (name: string, nodePort: number, extra: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: lab }
spec:
  type: NodePort
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
  ${extra}
  ports: [{ port: 80, targetPort: 9376, nodePort: ${nodePort} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-v4, namespace: lab, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ port: 9376 }]
endpoints: [{ addresses: [10.244.1.11], nodeName: node1 }, { addresses: [10.244.2.11], nodeName: node2 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-v6, namespace: lab, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv6
ports: [{ port: 9376 }]
endpoints: [{ addresses: ["fd00:244:1::11"], nodeName: node1 }, { addresses: ["fd00:244:2::11"], nodeName: node2 }]
`;
const WEB = nodePortService('web', 30080, 'clusterIPs: [10.96.0.10, "fd00:96::10"]');
const LOCAL = nodePortService('local', 30081, 'clusterIPs: [10.96.0.11, "fd00:96::11"]\n  externalTrafficPolicy: Local');

maybe(`sluice run: localhost node ports from the node itself${skipNote}`, () => {
  let lab: Lab;
  let ws: Workspace;

  beforeAll(async () => {
    lab = await createLab({ pods: [{ name: 'pa1', node: 'node1', index: 11 }, { name: 'pb1', node: 'node2', index: 11 }], tcpPorts: [9376], udpPorts: [] });
    ws = createWorkspace();
    writeManifest(ws.manifests, 'web.yaml', WEB);
    writeManifest(ws.manifests, 'local.yaml', LOCAL);
  });

  afterAll(async () => {
    await killAllSluices();
    await lab?.destroy();
    ws?.remove();
  });

  /** The backends that answered `count` connections from node1, by name, and how the others failed. */
  async function fromNode1(host: string, port: number, count = 30) {
    const r = await lab.probe(lab.node1, { proto: 'tcp', host, port }, { count, timeoutMs: 1500 });
    return { backends: [...new Set(r.answers.map((a) => a.backend))].sort(), refused: r.refused, answers: r.answers.length };
  }

  async function metric(series: string): Promise<number | undefined> {
    const text = (await lab.exec(lab.node1.ns, 'curl', ['-sS', 'http://127.0.0.1:10249/metrics'])).stdout;
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }

  test('with localhost: 127.0.0.1 and [::1] node ports answer from node1, with the endpoints the policy gives', async () => {
    appendFileSync(ws.configFile, 'nodePortAddresses: [primary, localhost]\n');
    const sluice = startSluice({ ns: lab.node1.ns, args: ['--from', ws.manifests, '--config', ws.configFile] });
    await sluice.nextSync(0, 'full');
    const opened = (address: string) => sluice.waitFor((l) => l.msg === 'opened localhost node port' && l.address === address, { what: `${address} opened` });
    await Promise.all(['127.0.0.1:30080', '[::1]:30080', '127.0.0.1:30081', '[::1]:30081'].map(opened));

    // Cluster: both pods, on either side of the node.
    expect(await fromNode1('127.0.0.1', 30080)).toEqual({ backends: ['pa1', 'pb1'], refused: 0, answers: 30 });
    expect(await fromNode1('::1', 30080)).toEqual({ backends: ['pa1', 'pb1'], refused: 0, answers: 30 });
    // Local: only node1's pod, as kube-proxy's localhost proxy.
    expect(await fromNode1('127.0.0.1', 30081)).toEqual({ backends: ['pa1'], refused: 0, answers: 30 });
    expect(await fromNode1('::1', 30081)).toEqual({ backends: ['pa1'], refused: 0, answers: 30 });
    // The rules still serve the node's own address.
    expect((await fromNode1(lab.node1.ipv4, 30080, 5)).answers).toBe(5);

    expect(await metric('kubeproxy_nftables_localhost_nodeport_listeners{ip_family="IPv4"}')).toBe(2);
    expect(await metric('kubeproxy_nftables_localhost_nodeport_listeners{ip_family="IPv6"}')).toBe(2);
    expect(await metric('sluice_localhost_nodeport_connections_total{ip_family="IPv4",result="proxied"}')).toBe(60);
    expect(await metric('sluice_localhost_nodeport_connections_total{ip_family="IPv6",result="proxied"}')).toBe(60);

    // The listeners follow the manifests: a removed service's localhost port closes, the other stays.
    const mark = sluice.logs.length;
    removeManifest(ws.manifests, 'local.yaml');
    await sluice.waitFor((l) => l.msg === 'closed localhost node port' && l.address === '127.0.0.1:30081', { after: mark, what: '127.0.0.1:30081 closed' });
    await sluice.waitFor((l) => l.msg === 'closed localhost node port' && l.address === '[::1]:30081', { after: mark, what: '[::1]:30081 closed' });
    expect(await fromNode1('127.0.0.1', 30081, 3)).toEqual({ backends: [], refused: 3, answers: 0 });
    expect((await fromNode1('127.0.0.1', 30080, 3)).answers).toBe(3);
    expect(sluice.lines('opened localhost node port', { address: '127.0.0.1:30080' })).toHaveLength(1); // kept, never reopened

    expect(await sluice.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    writeManifest(ws.manifests, 'local.yaml', LOCAL);
  });

  test('without localhost: nothing listens on 127.0.0.1:<nodePort>, and the node address still answers', async () => {
    const plain = createWorkspace();
    try {
      writeManifest(plain.manifests, 'web.yaml', WEB);
      const sluice = startSluice({ ns: lab.node1.ns, args: ['--from', plain.manifests, '--config', plain.configFile] });
      await sluice.nextSync(0, 'full');
      await sluice.quiet();
      expect(sluice.lines('opened localhost node port')).toEqual([]);
      expect(await fromNode1('127.0.0.1', 30080, 3)).toEqual({ backends: [], refused: 3, answers: 0 });
      expect(await fromNode1('::1', 30080, 3)).toEqual({ backends: [], refused: 3, answers: 0 });
      expect(await fromNode1(lab.node1.ipv4, 30080, 10)).toMatchObject({ answers: 10 });
      expect(await metric('kubeproxy_nftables_localhost_nodeport_listeners{ip_family="IPv4"}')).toBe(0);
      expect(await sluice.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      plain.remove();
    }
  });
});
