// Where each kind sluice watches lives in the API: cluster-wide collections (all namespaces).
import type { ObjectKind } from '../objects/objects.ts';

export const COLLECTION_PATHS: Record<ObjectKind, string> = {
  Service: '/api/v1/services',
  EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
  Endpoints: '/api/v1/endpoints',
  Node: '/api/v1/nodes',
  ServiceCIDR: '/apis/networking.k8s.io/v1/servicecidrs',
};

/** Selects one object by name in a list or watch. */
export function nameSelector(name: string): string {
  return `metadata.name=${name}`;
}
