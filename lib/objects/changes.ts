// Which objects changed since the sync loop last asked, by what the model rebuilds for them: one
// service (its Service, its EndpointSlices, its Endpoints), or everything (a Node, a ServiceCIDR, or
// a kind listed anew).
import { objectKey, SERVICE_NAME_LABEL, type KubeObject } from './objects.ts';

export interface ObjectChanges {
  /** namespace/name of every service one of whose objects was added, changed or removed. */
  services: ReadonlySet<string>;
  /** Something the whole model reads changed: only a build from all objects is right. */
  all: boolean;
}

/**
 * The service an object belongs to, as the model joins them: a Service or an Endpoints object by
 * its own namespace/name, an EndpointSlice by its namespace and service-name label. A slice without
 * a usable label belongs to no service but gets a key of its own, so its problems are still tracked.
 */
export function serviceKeyOf(obj: KubeObject): string | undefined {
  switch (obj.kind) {
    case 'Service':
    case 'Endpoints':
      return objectKey(obj);
    case 'EndpointSlice': {
      const label = obj.metadata?.labels?.[SERVICE_NAME_LABEL];
      const ns = typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : '';
      return typeof label === 'string' ? `${ns}/${label}` : `EndpointSlice ${objectKey(obj)}`;
    }
    default:
      return undefined;
  }
}

export class ChangeTracker {
  private services = new Set<string>();
  // Nothing has been taken yet: the first build is from all objects.
  private all = true;

  service(key: string): void {
    if (!this.all) this.services.add(key);
  }

  everything(): void {
    this.all = true;
    this.services.clear();
  }

  /** What changed since the last call, and from now on nothing. */
  take(): ObjectChanges {
    const taken = { services: this.services, all: this.all };
    this.services = new Set();
    this.all = false;
    return taken;
  }
}
