// Which cluster credentials sluice uses. An explicit kubeconfig wins even inside a pod: a service
// proxy often cannot use the in-cluster address (the `kubernetes` Service VIP), because it is the
// component that makes Service VIPs work (kubeadm runs kube-proxy with a kubeconfig file for this reason).
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConfigHost {
  env: Record<string, string | undefined>;
  fileExists(path: string): boolean;
}

const realHost: KubeConfigHost = { env: process.env, fileExists: existsSync };

/** True when running in a pod with a mounted service account. */
export function inCluster(host: KubeConfigHost = realHost): boolean {
  return Boolean(host.env.KUBERNETES_SERVICE_HOST && host.env.KUBERNETES_SERVICE_PORT)
    && host.fileExists(SERVICE_ACCOUNT_TOKEN);
}

export type KubeConfigChoice = 'file' | 'in-cluster' | 'default';

/** The given kubeconfig file; else in-cluster config in a pod; else KUBECONFIG or ~/.kube/config. */
export function kubeConfigChoice(path?: string, host: KubeConfigHost = realHost): KubeConfigChoice {
  if (path) return 'file';
  return inCluster(host) ? 'in-cluster' : 'default';
}

export function loadKubeConfig(path?: string, host: KubeConfigHost = realHost): KubeConfig {
  const kc = new KubeConfig();
  switch (kubeConfigChoice(path, host)) {
    case 'file': kc.loadFromFile(path!); break;
    case 'in-cluster': kc.loadFromCluster(); break; // reads KUBERNETES_SERVICE_HOST/PORT itself
    case 'default': kc.loadFromDefault(); break;
  }
  return kc;
}
