// Names of sluice's per-service chains and maps. One rule for all of them, readable by people:
// <kind>/<namespace>/<service>/<protocol>/<port name or number>[/<endpoint>]. Namespaces, service and
// port names are validated Kubernetes names (letters, digits, '-'), so every name is an nft identifier
// and no two service ports share one: a port name always contains a letter, a port number never does.
import type { Endpoint, ServicePort } from '../model/types.ts';

export type NameKind =
  | 'svc' // traffic to the cluster IP (internal traffic policy)
  | 'ext' // traffic to node ports, load-balancer and external IPs (external traffic policy)
  | 'all' // any endpoint, no policy: pods and the node short-circuiting an external address of a Local service
  | 'eps' // map: random index to endpoint, all nodes' endpoints
  | 'epl' // map: random index to endpoint, this node's endpoints
  | 'mgc' // map: Maglev slot to endpoint, cluster endpoints
  | 'mgl' // map: Maglev slot to endpoint, this node's endpoints
  | 'ep' //  chain for one endpoint (ClientIP affinity, or counters on a service above 16 endpoints)
  | 'aff' // set of clients that chose one endpoint (ClientIP affinity)
  | 'cnt'; // named counter of new connections, of a service port or one of its endpoints

export function servicePortName(kind: NameKind, sp: ServicePort): string {
  return `${kind}/${sp.namespace}/${sp.name}/${sp.protocol}/${sp.portName || sp.port}`;
}

/** Endpoint names carry address and port; IPv6 colons become dots, which identifiers allow. */
export function endpointName(kind: 'ep' | 'aff' | 'cnt', sp: ServicePort, e: Endpoint): string {
  return `${servicePortName(kind, sp)}/${e.address.replaceAll(':', '.')}_${e.port}`;
}
