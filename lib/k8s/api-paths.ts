// Where each kind sluice watches lives in the API (cluster-wide collections, all namespaces), and
// the server-side selectors that keep what sluice does not proxy off the wire, as kube-proxy's
// informers do (cmd/kube-proxy/app/server.go).
import type { ObjectKind } from '../objects/objects.ts';
import { isDNS1123Subdomain } from '../model/validate.ts';

export const COLLECTION_PATHS: Record<ObjectKind, string> = {
  Service: '/api/v1/services',
  EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
  Endpoints: '/api/v1/endpoints',
  Node: '/api/v1/nodes',
  ServiceCIDR: '/apis/networking.k8s.io/v1/servicecidrs',
};

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
/** Set by the control plane on the EndpointSlices and Endpoints of headless Services. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** Headless Services (spec.clusterIP None) are left out on the server; served from Kubernetes 1.31. */
export const NOT_HEADLESS_FIELD_SELECTOR = 'spec.clusterIP!=None';

// A label value: up to 63 characters, alphanumeric at both ends, '-', '_' and '.' inside.
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

export function isLabelValue(v: unknown): v is string {
  return typeof v === 'string' && LABEL_VALUE.test(v);
}

/** Selects one object by name in a list or watch. */
export function nameSelector(name: string): string {
  // A name with ',' or '=' would change what the selector means: only real node names get here.
  if (!isDNS1123Subdomain(name)) throw new Error(`not a valid object name for a field selector: ${JSON.stringify(name)}`);
  return `metadata.name=${name}`;
}

/**
 * Services a proxy named `serviceProxyName` serves: those labelled with its name; with no name, the
 * ones without the label (kube-proxy's only case: a labelled Service belongs to another proxy).
 */
export function serviceProxyNameSelector(serviceProxyName?: string): string {
  if (serviceProxyName === undefined) return `!${SERVICE_PROXY_NAME_LABEL}`;
  if (!isLabelValue(serviceProxyName)) throw new Error(`serviceProxyName ${JSON.stringify(serviceProxyName)} is not a valid label value`);
  return `${SERVICE_PROXY_NAME_LABEL}=${serviceProxyName}`;
}

export interface Selectors { labelSelector?: string; fieldSelector?: string }

/**
 * What each kind is listed and watched with. As kube-proxy 1.37: Services by the proxy-name label
 * and not headless (a field selector: Services carry no headless label); EndpointSlices (and
 * Endpoints) without the headless label, and not by proxy name, since slices made by other
 * controllers need not copy their Service's labels: a slice of a Service that is not served costs
 * a little memory, a slice missed would cost its endpoints. ServiceCIDRs unfiltered; the Node by name.
 */
export function selectorsFor(kind: ObjectKind, o: { nodeName: string; serviceProxyName?: string }): Selectors {
  switch (kind) {
    case 'Service':
      return { labelSelector: serviceProxyNameSelector(o.serviceProxyName), fieldSelector: NOT_HEADLESS_FIELD_SELECTOR };
    case 'EndpointSlice':
    case 'Endpoints':
      return { labelSelector: `!${HEADLESS_LABEL}` };
    case 'Node':
      return { fieldSelector: nameSelector(o.nodeName) };
    case 'ServiceCIDR':
      return {};
  }
}
