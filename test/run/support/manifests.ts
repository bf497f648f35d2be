// The objects `sluice run --from DIR` reads in these tests: a configuration with short sync periods,
// the lab's nodes, and services with their EndpointSlices, written the way tools replace files
// (a temporary file renamed over the old one, so sluice never reads half a file).
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, type ProxyConfig } from '../../../lib/config/kube-proxy-config.ts';
import { recordingLogger } from '../../../lib/log.ts';
import { loadManifests } from '../../../lib/manifests/load.ts';
import { renderStore } from '../../../lib/render.ts';

export interface Workspace {
  root: string;
  /** The folder `--from` points at. */
  manifests: string;
  configFile: string;
  config: ProxyConfig;
  remove(): void;
}

export function createWorkspace(opts: { syncPeriod?: string; minSyncPeriod?: string } = {}): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'sluice-run-'));
  const manifests = join(root, 'manifests');
  const configFile = join(root, 'config.yaml');
  writeFileSync(configFile, [
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    'kind: KubeProxyConfiguration',
    'mode: nftables',
    'hostnameOverride: node1',
    'clusterCIDR: 10.244.0.0/16,fd00:244::/32',
    'nftables:',
    `  syncPeriod: ${opts.syncPeriod ?? '2s'}`,
    `  minSyncPeriod: ${opts.minSyncPeriod ?? '200ms'}`,
    '',
  ].join('\n'));
  mkdirSync(manifests);
  writeManifest(manifests, 'nodes.yaml', NODES);
  return {
    root, manifests, configFile,
    config: loadConfigFile(configFile, () => {}),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Replaces (or creates) a manifest file in one rename. */
export function writeManifest(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

export function removeManifest(dir: string, name: string): void {
  rmSync(join(dir, name));
}

export const NODES = `apiVersion: v1
kind: Node
metadata: { name: node1 }
spec: { podCIDRs: ["10.244.1.0/24", "fd00:244:1::/64"] }
status: { addresses: [{ type: InternalIP, address: 172.30.0.1 }, { type: InternalIP, address: "fd00:30::1" }] }
---
apiVersion: v1
kind: Node
metadata: { name: node2 }
spec: { podCIDRs: ["10.244.2.0/24", "fd00:244:2::/64"] }
status: { addresses: [{ type: InternalIP, address: 172.30.0.2 }, { type: InternalIP, address: "fd00:30::2" }] }
`;

export interface Backend { ip: string; node: 'node1' | 'node2' }

export interface ServiceSpec {
  name: string;
  clusterIP: string;
  port: number;
  targetPort: number;
  protocol?: 'TCP' | 'UDP';
  backends: Backend[];
}

/** A Service and its one EndpointSlice, as YAML. */
export function serviceYaml(s: ServiceSpec): string {
  const protocol = s.protocol ?? 'TCP';
  const endpoints = s.backends.map((b) => `  - { addresses: [${b.ip}], nodeName: ${b.node} }`).join('\n');
  return `apiVersion: v1
kind: Service
metadata: { name: ${s.name}, namespace: lab }
spec:
  clusterIP: ${s.clusterIP}
  ports: [{ port: ${s.port}, targetPort: ${s.targetPort}, protocol: ${protocol} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${s.name}-1, namespace: lab, labels: { kubernetes.io/service-name: ${s.name} } }
addressType: IPv4
ports: [{ port: ${s.targetPort}, protocol: ${protocol} }]
endpoints:${s.backends.length ? '\n' + endpoints : ' []'}
`;
}

/** The script `sluice render` makes of a manifest folder with this configuration, for node1. */
export function renderFolder(dir: string, config: ProxyConfig): string {
  return renderStore(loadManifests(dir).store, config, 'node1', recordingLogger());
}
