import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeConfigChoice, loadKubeConfig } from '../../lib/k8s/kubeconfig.ts';
import type { KubeConfigHost } from '../../lib/k8s/kubeconfig.ts';

const TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const inPod: KubeConfigHost = {
  env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
  fileExists: (p) => p === TOKEN,
};
const laptop: KubeConfigHost = { env: {}, fileExists: () => false };

let dir: string;
const savedEnv = { ...process.env };

afterEach(() => {
  process.env = { ...savedEnv };
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kubeconfigFile(server: string): string {
  dir = mkdtempSync(join(tmpdir(), 'sluice-kc-'));
  const path = join(dir, 'config');
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    'clusters: [{name: k, cluster: {server: "' + server + '"}}]',
    'users: [{name: u, user: {token: t}}]',
    'contexts: [{name: c, context: {cluster: k, user: u}}]',
  ].join('\n'));
  return path;
}

describe('kubeConfigChoice', () => {
  it('prefers a given file, even in a pod (a proxy may not be able to reach the kubernetes Service VIP)', () => {
    expect(kubeConfigChoice('/etc/sluice/kubeconfig', inPod)).toBe('file');
  });
  it('uses the service account in a pod', () => {
    expect(kubeConfigChoice(undefined, inPod)).toBe('in-cluster');
  });
  it('needs both the service env and the token to be in a pod', () => {
    expect(kubeConfigChoice(undefined, { ...inPod, fileExists: () => false })).toBe('default');
    expect(kubeConfigChoice(undefined, { ...inPod, env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } })).toBe('default');
  });
  it('falls back to KUBECONFIG or ~/.kube/config', () => {
    expect(kubeConfigChoice(undefined, laptop)).toBe('default');
  });
});

describe('loadKubeConfig', () => {
  it('loads the given file', () => {
    const kc = loadKubeConfig(kubeconfigFile('https://file.example:6443'), inPod);
    expect(kc.getCurrentCluster()?.server).toBe('https://file.example:6443');
  });
  it('builds the in-cluster config from the service env in a pod', () => {
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    const kc = loadKubeConfig(undefined, inPod);
    expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
  });
  it('reads KUBECONFIG outside a pod', () => {
    process.env.KUBECONFIG = kubeconfigFile('https://env.example:6443');
    expect(loadKubeConfig(undefined, laptop).getCurrentCluster()?.server).toBe('https://env.example:6443');
  });
});
