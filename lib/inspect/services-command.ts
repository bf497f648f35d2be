// `sluice services [NAMESPACE[/NAME]]`.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import type { Logger } from '../log.ts';
import { buildModel } from '../model/build.ts';
import { isDNS1123Label } from '../model/validate.ts';
import { loadStore } from './load-store.ts';
import { servicesView, type ServiceFilter } from './services.ts';
import { servicesText } from './services-text.ts';

/** NAMESPACE or NAMESPACE/NAME, both Kubernetes names; a message when it is not. */
export function parseServiceFilter(arg: string | undefined): ServiceFilter | undefined | string {
  if (arg === undefined) return undefined;
  const [namespace, name, ...rest] = arg.split('/');
  if (rest.length || !isDNS1123Label(namespace) || (name !== undefined && !isDNS1123Label(name))) {
    return `${JSON.stringify(arg).slice(0, 80)} is not NAMESPACE or NAMESPACE/NAME`;
  }
  return { namespace, name };
}

export async function servicesCommand(o: { config: ProxyConfig; nodeName: string; log: Logger; from?: string; kubeconfig?: string; filter?: ServiceFilter; output: 'text' | 'json' }): Promise<string> {
  const store = await loadStore(o);
  const model = buildModel(store.objects(), o.nodeName, { configServiceCIDRs: o.config.serviceCIDRs, serviceProxyName: o.config.serviceProxyName });
  const view = servicesView(model, o.filter);
  return o.output === 'json' ? JSON.stringify(view, null, 2) + '\n' : servicesText(view);
}
