// `sluice render`: manifests and configuration in, one nft script out. No kernel involved.
import { hostname } from 'node:os';
import type { ProxyConfig } from './config/kube-proxy-config.ts';
import type { Logger } from './log.ts';
import type { ObjectStore } from './objects/store.ts';
import { buildModel } from './model/build.ts';
import type { Problem, ProxyModel } from './model/types.ts';
import { renderRulesetChunks } from './nft/templates.ts';
import type { Ruleset } from './nft/ir.ts';
import { planRuleset } from './plan/plan.ts';

/** This node's name: --node, else hostnameOverride, else the only Node given, else the host's name. */
export function resolveNodeName(store: ObjectStore, config: ProxyConfig, flag?: string): string {
  if (flag) return flag;
  if (config.hostnameOverride) return config.hostnameOverride;
  const nodes = [...store.objects().nodes];
  if (nodes.length === 1 && typeof nodes[0].metadata.name === 'string') return nodes[0].metadata.name;
  return hostname().toLowerCase();
}

export function describeProblem(p: Problem): string {
  switch (p.scope) {
    case 'endpoint': return `${p.kind} ${p.object}: one endpoint skipped, the rest used: ${p.message}`;
    case 'field': return `${p.kind} ${p.object}: one field ignored, the rest used: ${p.message}`;
    default: return `${p.kind} ${p.object} skipped: ${p.message}`;
  }
}

export function reportModel(model: ProxyModel, config: ProxyConfig, log: Logger): void {
  for (const p of model.problems) log.warn(describeProblem(p), { kind: p.kind, object: p.object, reason: p.reason });
  const needsNode = config.nodePortAddresses.includes('primary') || config.detectLocalMode === 'NodeCIDR';
  if (!model.node.known && needsNode) {
    log.warn(`Node ${model.node.name} not found: no NodePorts on its primary addresses${config.detectLocalMode === 'NodeCIDR' ? ', no pod CIDR to detect local traffic' : ''}`, { node: model.node.name });
  }
}

export function planFromStore(store: ObjectStore, config: ProxyConfig, nodeName: string): { model: ProxyModel; ruleset: Ruleset } {
  const model = buildModel(store.objects(), nodeName, { configServiceCIDRs: config.serviceCIDRs, serviceProxyName: config.serviceProxyName });
  return { model, ruleset: planRuleset(model, config) };
}

export function renderStore(store: ObjectStore, config: ProxyConfig, nodeName: string, log: Logger): string {
  return [...renderStoreChunks(store, config, nodeName, log)].join('');
}

/** The script in pieces, to be written as it is made. */
export function* renderStoreChunks(store: ObjectStore, config: ProxyConfig, nodeName: string, log: Logger): Generator<string> {
  const { model, ruleset } = planFromStore(store, config, nodeName);
  reportModel(model, config, log);
  yield* renderRulesetChunks(ruleset);
}
