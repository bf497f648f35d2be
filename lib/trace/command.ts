// `sluice trace`: load, plan as the sync does, trace, optionally check against the kernel, print.
import type { ProxyConfig } from '../config/kube-proxy-config.ts';
import { loadStore } from '../inspect/load-store.ts';
import type { Logger } from '../log.ts';
import { planFromStore, reportModel } from '../render.ts';
import { traceJson, traceText } from './format.ts';
import { traceRequest, type TraceRequest } from './trace.ts';

export interface TraceCommandOptions extends TraceRequest {
  config: ProxyConfig;
  nodeName: string;
  log: Logger;
  from?: string;
  kubeconfig?: string;
  output: 'text' | 'json';
  kernel: boolean;
}

export async function traceCommand(o: TraceCommandOptions): Promise<string> {
  const store = await loadStore(o);
  const { model, ruleset } = planFromStore(store, o.config, o.nodeName);
  reportModel(model, o.config, o.log);
  const trace = traceRequest({ model, ruleset, config: o.config }, o);
  let kernel;
  if (o.kernel) {
    const { checkInKernel } = await import('./kernel-check.ts');
    [kernel] = await checkInKernel(ruleset, [trace], { nodeIPs: model.node.internalIPs });
  }
  return o.output === 'json' ? JSON.stringify(traceJson(trace, kernel), null, 2) + '\n' : traceText(trace, kernel);
}
