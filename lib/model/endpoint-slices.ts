// Reads EndpointSlices (discovery.k8s.io/v1) and legacy Endpoints (v1) into endpoint groups: a set of
// addresses that share one list of ports, belonging to one service.
import { SERVICE_NAME_LABEL, type KubeObject } from '../objects/objects.ts';
import { parseIP, sortKeyOf, type Family } from './ip.ts';
import { InvalidObject, invalid } from './problems.ts';
import { isLabelValue } from './topology.ts';
import { isDNS1123Label, isDNS1123Subdomain, isPort, isPortName, parseProtocol, show, type Protocol } from './validate.ts';

export { SERVICE_NAME_LABEL };

export interface GroupPort { name: string; protocol: Protocol; port: number }
export interface GroupEndpoint {
  address: string;
  /** sortKeyOf(address), computed once when the object is read. */
  sortKey: string;
  nodeName?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** Topology hints (hints.forZones, hints.forNodes): absent when the endpoint has none of that kind. */
  zoneHints?: readonly string[];
  nodeHints?: readonly string[];
}

export interface EndpointGroup {
  namespace: string;
  service: string;
  family: Family;
  ports: GroupPort[];
  endpoints: GroupEndpoint[];
}

function objectNames(obj: KubeObject): { namespace: string; name: string } {
  const { namespace, name } = obj.metadata ?? {};
  if (!isDNS1123Label(namespace)) invalid('invalid-namespace', `metadata.namespace ${show(namespace)} is not a valid namespace name`);
  if (!isDNS1123Subdomain(name)) invalid('invalid-name', `metadata.name ${show(name)} is not a valid object name`);
  return { namespace, name };
}

function readPorts(raw: unknown, field: string): GroupPort[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) invalid('invalid-port', `${field} is not a list`);
  return raw.map((p: any, i: number) => {
    const where = `${field}[${i}]`;
    if (!p || typeof p !== 'object') invalid('invalid-port', `${where} is not an object`);
    const name = p.name ?? '';
    if (name !== '' && !isPortName(name)) invalid('invalid-port-name', `${where}.name ${show(name)} is not a valid port name`);
    const protocol = parseProtocol(p.protocol) ?? invalid('invalid-protocol', `${where}.protocol ${show(p.protocol)} is not TCP, UDP or SCTP`);
    if (!isPort(p.port)) invalid('invalid-port', `${where}.port ${show(p.port)} is not a port number (1-65535)`);
    return { name, protocol, port: p.port };
  });
}

// Node names repeat across every endpoint of a cluster: each distinct valid one is checked once.
const validNodeNames = new Set<string>();

function readNodeName(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string' && validNodeNames.has(v)) return v;
  if (!isDNS1123Subdomain(v)) invalid('invalid-node-name', `${where} ${show(v)} is not a valid node name`);
  if (validNodeNames.size > 100_000) validNodeNames.clear();
  validNodeNames.add(v);
  return v;
}

function readBool(v: unknown, where: string, absent: boolean): boolean {
  if (v === undefined || v === null) return absent;
  if (typeof v !== 'boolean') invalid('invalid-condition', `${where} ${show(v)} is not true or false`);
  return v;
}

/**
 * hints.forZones[].name or hints.forNodes[].name of one endpoint, each name once; undefined for an
 * empty or absent list (kube-proxy's "no hints"). Zone names are label values, node names node names,
 * as the API server validates them; an empty zone name, which no controller writes, is refused too.
 */
function readHintNames(list: unknown, where: string, what: 'zone' | 'node'): string[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) invalid('invalid-hint', `${where} is not a list`);
  const names = new Set<string>();
  list.forEach((h: any, i: number) => {
    const name = h && typeof h === 'object' ? h.name : undefined;
    const ok = what === 'zone' ? isLabelValue(name) : isDNS1123Subdomain(name);
    if (!ok) invalid('invalid-hint', `${where}[${i}].name ${show(name)} is not a valid ${what} name`);
    names.add(name);
  });
  return names.size > 0 ? [...names] : undefined;
}

function readHints(v: unknown, where: string): Pick<GroupEndpoint, 'zoneHints' | 'nodeHints'> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) invalid('invalid-hint', `${where} is not an object`);
  const h = v as { forZones?: unknown; forNodes?: unknown };
  const zoneHints = readHintNames(h.forZones, `${where}.forZones`, 'zone');
  const nodeHints = readHintNames(h.forNodes, `${where}.forNodes`, 'node');
  return { ...(zoneHints && { zoneHints }), ...(nodeHints && { nodeHints }) };
}

/** An endpoint (or legacy address) that failed validation: left out alone, the rest of its object is kept. */
export interface SkippedEndpoint { reason: string; message: string }

/** What one EndpointSlice or Endpoints object gives: its groups, and the endpoints left out of them. */
export interface EndpointReading {
  groups: EndpointGroup[];
  skipped: SkippedEndpoint[];
}

// Like kube-proxy, which drops a bad endpoint and keeps its slice (endpointslicecache.go addEndpoints):
// one endpoint's invalid address, node name, condition or hint costs that endpoint, not its neighbours.
// The object's own fields (names, ports, address type) still invalidate it whole.
function readEach<T>(list: unknown[], skipped: SkippedEndpoint[], readOne: (item: any, i: number) => T): T[] {
  const out: T[] = [];
  list.forEach((item, i) => {
    try {
      out.push(readOne(item, i));
    } catch (e) {
      if (!(e instanceof InvalidObject)) throw e;
      skipped.push({ reason: e.reason, message: e.message });
    }
  });
  return out;
}

/** No groups for slices sluice has no use for (no service label, FQDN addresses). */
export function readEndpointSlice(obj: KubeObject): EndpointReading {
  const { namespace } = objectNames(obj);
  const service = obj.metadata.labels?.[SERVICE_NAME_LABEL];
  if (service === undefined) return { groups: [], skipped: [] };
  // Service names are DNS-1123 labels (RelaxedServiceNameValidation, service.ts).
  if (!isDNS1123Label(service)) invalid('invalid-service-label', `label ${SERVICE_NAME_LABEL} ${show(service)} is not a valid Service name`);
  const addressType = obj.addressType;
  if (addressType === 'FQDN') return { groups: [], skipped: [] };
  if (addressType !== 'IPv4' && addressType !== 'IPv6') invalid('invalid-address-type', `addressType ${show(addressType)} is not IPv4, IPv6 or FQDN`);
  const family: Family = addressType === 'IPv4' ? 4 : 6;
  const ports = readPorts(obj.ports, 'ports');
  const rawEndpoints = obj.endpoints ?? [];
  if (!Array.isArray(rawEndpoints)) invalid('invalid-endpoints', 'endpoints is not a list');
  const skipped: SkippedEndpoint[] = [];
  const endpoints = readEach(rawEndpoints, skipped, (e: any, i: number): GroupEndpoint => {
    const where = `endpoints[${i}]`;
    if (!e || typeof e !== 'object') invalid('invalid-endpoints', `${where} is not an object`);
    if (!Array.isArray(e.addresses) || e.addresses.length === 0) invalid('invalid-endpoint-address', `${where}.addresses is empty`);
    // Like kube-proxy, only the first address is used: the others are the same endpoint.
    const ip = parseIP(e.addresses[0]);
    if (!ip || ip.family !== family) invalid('invalid-endpoint-address', `${where}.addresses[0] ${show(e.addresses[0])} is not an ${addressType} address`);
    const c = e.conditions ?? {};
    if (typeof c !== 'object') invalid('invalid-condition', `${where}.conditions is not an object`);
    const ready = readBool(c.ready, `${where}.conditions.ready`, true);
    return {
      address: ip.address,
      sortKey: sortKeyOf(ip),
      nodeName: readNodeName(e.nodeName, `${where}.nodeName`),
      ready,
      // The API reads an absent condition as true (kube-proxy too): ready and serving both.
      serving: readBool(c.serving, `${where}.conditions.serving`, true),
      terminating: readBool(c.terminating, `${where}.conditions.terminating`, false),
      ...readHints(e.hints, `${where}.hints`),
    };
  });
  return { groups: [{ namespace, service, family, ports, endpoints }], skipped };
}

/** Legacy Endpoints: one group per subset and family; addresses are ready, notReadyAddresses are not serving. */
export function readEndpoints(obj: KubeObject): EndpointReading {
  const { namespace, name } = objectNames(obj);
  if (!isDNS1123Label(name)) invalid('invalid-name', `metadata.name ${show(name)} is not a valid Service name`);
  const subsets = obj.subsets ?? [];
  if (!Array.isArray(subsets)) invalid('invalid-subsets', 'subsets is not a list');
  const groups: EndpointGroup[] = [];
  const skipped: SkippedEndpoint[] = [];
  subsets.forEach((s: any, i: number) => {
    const where = `subsets[${i}]`;
    if (!s || typeof s !== 'object') invalid('invalid-subsets', `${where} is not an object`);
    const ports = readPorts(s.ports, `${where}.ports`);
    const byFamily = new Map<Family, GroupEndpoint[]>();
    const add = (list: unknown, field: string, ready: boolean) => {
      if (list === undefined || list === null) return;
      if (!Array.isArray(list)) invalid('invalid-subsets', `${where}.${field} is not a list`);
      const read = readEach(list, skipped, (a: any, j: number) => {
        const at = `${where}.${field}[${j}]`;
        const ip = parseIP(a?.ip) ?? invalid('invalid-endpoint-address', `${at}.ip ${show(a?.ip)} is not an IP address`);
        const endpoint: GroupEndpoint = { address: ip.address, sortKey: sortKeyOf(ip), nodeName: readNodeName(a.nodeName, `${at}.nodeName`), ready, serving: ready, terminating: false };
        return { family: ip.family, endpoint };
      });
      for (const { family, endpoint } of read) {
        const eps = byFamily.get(family) ?? [];
        eps.push(endpoint);
        byFamily.set(family, eps);
      }
    };
    add(s.addresses, 'addresses', true);
    add(s.notReadyAddresses, 'notReadyAddresses', false);
    for (const family of [4, 6] as const) {
      const eps = byFamily.get(family);
      if (eps) groups.push({ namespace, service: name, family, ports, endpoints: eps });
    }
  });
  return { groups, skipped };
}
