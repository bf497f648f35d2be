// What a model programs, as the sync loop's gauges report it (services, endpoints, service ports
// without local endpoints, topology): sums over service ports, kept from sync to sync. A model
// updated for a few services (its `change`) moves the sums by those services' ports alone.
import { categorizeEndpoints, isExternallyAccessible } from '../model/categorize.ts';
import type { ProxyModel, ServicePort } from '../model/types.ts';
import type { TopologyServicePort } from '../serve/metrics.ts';

export interface ProgrammedCounts {
  services: number;
  endpoints: number;
  noLocal: { IPv4: { internal: number; external: number }; IPv6: { internal: number; external: number } };
  /** The ports topology hints narrow, or whose hints went unused. */
  topologies: Iterable<TopologyServicePort>;
}

export class ProgrammedTally {
  private readonly nodeName: string;
  private model?: ProxyModel;
  private services = 0;
  private endpoints = 0;
  private noLocal = { IPv4: { internal: 0, external: 0 }, IPv6: { internal: 0, external: 0 } };
  private topologies = new Map<ServicePort, TopologyServicePort>();
  private topologyTouched = false;

  constructor(nodeName: string) {
    this.nodeName = nodeName;
  }

  /** The counts of `model`; `topologyChanged` says whether the topology list differs from the last call's. */
  count(model: ProxyModel): ProgrammedCounts & { topologyChanged: boolean } {
    const change = model.change;
    this.topologyTouched = false;
    if (model === this.model) {
      // Nothing changed since the last count.
    } else if (this.model && change && change.base.deref() === this.model) {
      for (const sp of change.removed) this.tally(sp, model, -1);
      for (const sp of change.added) this.tally(sp, model, 1);
      this.services += distinctServices(change.added) - distinctServices(change.removed);
    } else {
      this.services = distinctServices(model.servicePorts);
      this.endpoints = 0;
      this.noLocal = { IPv4: { internal: 0, external: 0 }, IPv6: { internal: 0, external: 0 } };
      this.topologies = new Map();
      for (const sp of model.servicePorts) this.tally(sp, model, 1);
      this.topologyTouched = true;
    }
    this.model = model;
    return { services: this.services, endpoints: this.endpoints, noLocal: this.noLocal, topologies: this.topologies.values(), topologyChanged: this.topologyTouched };
  }

  private tally(sp: ServicePort, model: ProxyModel, by: 1 | -1) {
    this.endpoints += by * sp.endpoints.length;
    const { local, hasAny, topology } = categorizeEndpoints(sp, this.nodeName, model.node.zone);
    if (topology.mode !== 'none' || topology.fallback) {
      if (by > 0) this.topologies.set(sp, { ip_family: sp.family === 4 ? 'IPv4' : 'IPv6', topology });
      else this.topologies.delete(sp);
      this.topologyTouched = true;
    }
    if (!hasAny || local.length > 0) return;
    const fam = sp.family === 4 ? this.noLocal.IPv4 : this.noLocal.IPv6;
    if (sp.internalPolicyLocal) fam.internal += by;
    if (sp.externalPolicyLocal && isExternallyAccessible(sp)) fam.external += by;
  }
}

/** Service ports come sorted by namespace and name (a changed service's all together): a service starts where the name changes. */
function distinctServices(ports: readonly ServicePort[]): number {
  let n = 0;
  ports.forEach((sp, i) => {
    const prev = ports[i - 1];
    if (!prev || prev.name !== sp.name || prev.namespace !== sp.namespace) n++;
  });
  return n;
}
