// Names for what the walk meets: which service port owns a chain, an address or a node port. Only
// for words in the trace; every decision comes from the ruleset itself.
import type { ProxyModel, ServicePort } from '../model/types.ts';
import { servicePortName } from '../plan/names.ts';

export interface ServiceLabels {
  byChain(chain: string): ServicePort | undefined;
  byAddress(address: string, proto: string, port: number): ServicePort | undefined;
  byNodePort(family: 4 | 6, proto: string, port: number): ServicePort | undefined;
}

export function describeServicePort(sp: ServicePort): string {
  return `${sp.namespace}/${sp.name}${sp.portName ? ` port ${sp.portName}` : ''} (${sp.port}/${sp.protocol})`;
}

export function serviceLabels(model: ProxyModel | undefined): ServiceLabels {
  const chains = new Map<string, ServicePort>();
  const addresses = new Map<string, ServicePort>();
  const nodePorts = new Map<string, ServicePort>();
  for (const sp of model?.servicePorts ?? []) {
    for (const kind of ['svc', 'ext', 'all', 'eps', 'epl', 'ep', 'aff'] as const) chains.set(servicePortName(kind, sp), sp);
    for (const ip of [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs]) addresses.set(`${ip} ${sp.protocol} ${sp.port}`, sp);
    if (sp.nodePort !== undefined) nodePorts.set(`${sp.family} ${sp.protocol} ${sp.nodePort}`, sp);
  }
  return {
    // ep/ chains and aff/ sets add /<endpoint> to the service port's name.
    byChain: (chain) => chains.get(chain) ?? chains.get(chain.split('/').slice(0, 5).join('/')),
    byAddress: (address, proto, port) => addresses.get(`${address} ${proto} ${port}`),
    byNodePort: (family, proto, port) => nodePorts.get(`${family} ${proto} ${port}`),
  };
}
