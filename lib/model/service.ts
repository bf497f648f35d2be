// Reads a Service into what the proxy programs, or says why it cannot.
import { LB_ALGORITHM_ANNOTATION, type KubeObject } from '../objects/objects.ts';
import { parseCIDR, parseIP, type ParsedCIDR, type ParsedIP } from './ip.ts';
import { invalid } from './problems.ts';
import { isDNS1123Label, isPort, isPortName, parseProtocol, show, type Protocol } from './validate.ts';

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export type LbAlgorithm = 'maglev' | 'random';
export const DEFAULT_AFFINITY_TIMEOUT = 10800;
const MAX_AFFINITY_TIMEOUT = 86400;

export interface ServiceDefPort { name: string; protocol: Protocol; port: number; nodePort?: number }

export interface ServiceDef {
  namespace: string;
  name: string;
  /** creationTimestamp, for deciding which of two conflicting services came first. */
  created: string;
  clusterIPs: ParsedIP[];
  ports: ServiceDefPort[];
  externalIPs: ParsedIP[];
  loadBalancerIPs: ParsedIP[];
  sourceRanges: ParsedCIDR[];
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  affinityTimeout?: number;
  healthCheckNodePort?: number;
  /** The LB_ALGORITHM_ANNOTATION; absent when not set (the node's default applies); random when invalid. */
  lbAlgorithm?: LbAlgorithm;
  /** Fields that failed validation and are treated as absent; the rest of the Service is used. */
  ignored: { reason: string; message: string }[];
}

export type ServiceReading = { program: ServiceDef } | { ignore: string };

export function serviceName(obj: KubeObject): { namespace: string; name: string } {
  const { namespace, name } = obj.metadata ?? {};
  if (!isDNS1123Label(namespace)) invalid('invalid-namespace', `metadata.namespace ${show(namespace)} is not a valid namespace name`);
  // A DNS-1123 label, so it may start with a digit: Kubernetes 1.34's RelaxedServiceNameValidation
  // lets the API server take such names, and a proxy that refused them would drop those Services.
  if (!isDNS1123Label(name)) invalid('invalid-name', `metadata.name ${show(name)} is not a valid Service name`);
  return { namespace, name };
}

/**
 * Why this proxy leaves a Service to another, or undefined when it serves it. Without a
 * serviceProxyName, as kube-proxy: Services without the label. With one (sluice's configuration
 * serviceProxyName, as Cilium and Antrea offer): exactly the Services labelled with that name.
 */
export function notOurs(labels: Record<string, unknown>, serviceProxyName?: string): string | undefined {
  const value = labels[SERVICE_PROXY_NAME_LABEL];
  if (serviceProxyName === undefined) return SERVICE_PROXY_NAME_LABEL in labels ? `labelled ${SERVICE_PROXY_NAME_LABEL}` : undefined;
  if (value === serviceProxyName) return undefined;
  return SERVICE_PROXY_NAME_LABEL in labels ? `labelled ${SERVICE_PROXY_NAME_LABEL}=${show(value)}, not ${show(serviceProxyName)}` : `not labelled ${SERVICE_PROXY_NAME_LABEL}=${show(serviceProxyName)}`;
}

/** Throws InvalidObject for an invalid Service; returns `ignore` for services that by design get no rules. */
export function readService(obj: KubeObject, serviceProxyName?: string): ServiceReading {
  const { namespace, name } = serviceName(obj);
  const labels = obj.metadata.labels ?? {};
  if (typeof labels !== 'object') invalid('invalid-labels', 'metadata.labels is not a map');
  const other = notOurs(labels, serviceProxyName);
  if (other !== undefined) return { ignore: other };
  const spec = obj.spec;
  if (!spec || typeof spec !== 'object') invalid('invalid-spec', 'spec is missing');

  const type = spec.type ?? 'ClusterIP';
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) invalid('invalid-type', `spec.type ${show(type)} is not a Service type`);
  if (type === 'ExternalName') return { ignore: 'ExternalName service' };

  const rawIPs: unknown[] = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP];
  if (rawIPs[0] === 'None') return { ignore: 'headless service' };
  if (rawIPs[0] === undefined || rawIPs[0] === '') invalid('no-cluster-ip', 'spec.clusterIP is not set');
  if (rawIPs.length > 2) invalid('invalid-cluster-ip', 'spec.clusterIPs has more than two addresses');
  const clusterIPs = rawIPs.map((v, i) => parseIP(v) ?? invalid('invalid-cluster-ip', `spec.clusterIPs[${i}] ${show(v)} is not an IP address`));
  if (clusterIPs.length === 2 && clusterIPs[0].family === clusterIPs[1].family) invalid('invalid-cluster-ip', 'spec.clusterIPs has two addresses of one family');
  if (spec.clusterIP !== undefined && spec.clusterIP !== '' && parseIP(spec.clusterIP)?.address !== clusterIPs[0].address) {
    invalid('invalid-cluster-ip', `spec.clusterIP ${show(spec.clusterIP)} differs from spec.clusterIPs[0]`);
  }

  const exposesNodePorts = type === 'NodePort' || type === 'LoadBalancer';
  if (!Array.isArray(spec.ports) || spec.ports.length === 0) invalid('no-ports', 'spec.ports is empty');
  const ports = spec.ports.map((p: any, i: number): ServiceDefPort => {
    const where = `spec.ports[${i}]`;
    if (!p || typeof p !== 'object') invalid('invalid-port', `${where} is not an object`);
    const portName = p.name ?? '';
    if (portName !== '' && !isPortName(portName)) invalid('invalid-port-name', `${where}.name ${show(portName)} is not a valid port name`);
    if (portName === '' && spec.ports.length > 1) invalid('invalid-port-name', `${where} needs a name: the service has several ports`);
    const protocol = parseProtocol(p.protocol) ?? invalid('invalid-protocol', `${where}.protocol ${show(p.protocol)} is not TCP, UDP or SCTP`);
    if (!isPort(p.port)) invalid('invalid-port', `${where}.port ${show(p.port)} is not a port number (1-65535)`);
    let nodePort: number | undefined;
    if (exposesNodePorts && p.nodePort !== undefined && p.nodePort !== null && p.nodePort !== 0) {
      if (!isPort(p.nodePort)) invalid('invalid-node-port', `${where}.nodePort ${show(p.nodePort)} is not a port number (1-65535)`);
      nodePort = p.nodePort;
    }
    const tp = p.targetPort;
    if (tp !== undefined && tp !== null && !isPort(tp) && !isPortName(tp)) {
      invalid('invalid-target-port', `${where}.targetPort ${show(tp)} is neither a port number nor a port name`);
    }
    return { name: portName, protocol, port: p.port, nodePort };
  });
  const seen = new Set<string>();
  for (const p of ports) {
    for (const k of [`name ${p.name}`, `port ${p.port}/${p.protocol}`]) {
      if (p.name === '' && k.startsWith('name')) continue;
      if (seen.has(k)) invalid('duplicate-port', `spec.ports has ${k} twice`);
      seen.add(k);
    }
  }

  const externalIPs = listOf(spec.externalIPs, 'spec.externalIPs').map((v, i) =>
    parseIP(v) ?? invalid('invalid-external-ip', `spec.externalIPs[${i}] ${show(v)} is not an IP address`));
  const loadBalancerIPs: ParsedIP[] = [];
  if (type === 'LoadBalancer') {
    listOf(obj.status?.loadBalancer?.ingress, 'status.loadBalancer.ingress').forEach((ing: any, i) => {
      if (!ing || typeof ing !== 'object') invalid('invalid-ingress', `status.loadBalancer.ingress[${i}] is not an object`);
      if (ing.ip === undefined || ing.ip === '') return; // a hostname-only ingress is the load balancer's business
      const ip = parseIP(ing.ip) ?? invalid('invalid-ingress-ip', `status.loadBalancer.ingress[${i}].ip ${show(ing.ip)} is not an IP address`);
      if (ing.ipMode !== undefined && ing.ipMode !== 'VIP' && ing.ipMode !== 'Proxy') invalid('invalid-ingress-ip', `status.loadBalancer.ingress[${i}].ipMode ${show(ing.ipMode)} is not VIP or Proxy`);
      if (ing.ipMode === 'Proxy') return; // the load balancer proxies: its traffic arrives on the node ports
      loadBalancerIPs.push(ip);
    });
  }
  const sourceRanges = type === 'LoadBalancer'
    ? listOf(spec.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges').map((v, i) =>
      parseCIDR(typeof v === 'string' ? v.trim() : v) ?? invalid('invalid-source-range', `spec.loadBalancerSourceRanges[${i}] ${show(v)} is not a CIDR`))
    : [];

  const etp = spec.externalTrafficPolicy ?? 'Cluster';
  if (!['Cluster', 'Local'].includes(etp)) invalid('invalid-traffic-policy', `spec.externalTrafficPolicy ${show(etp)} is not Cluster or Local`);
  const itp = spec.internalTrafficPolicy ?? 'Cluster';
  if (!['Cluster', 'Local'].includes(itp)) invalid('invalid-traffic-policy', `spec.internalTrafficPolicy ${show(itp)} is not Cluster or Local`);

  let affinityTimeout: number | undefined;
  const affinity = spec.sessionAffinity ?? 'None';
  if (affinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_AFFINITY_TIMEOUT) {
      invalid('invalid-affinity', `spec.sessionAffinityConfig.clientIP.timeoutSeconds ${show(t)} is not 1-${MAX_AFFINITY_TIMEOUT}`);
    }
    affinityTimeout = t;
  } else if (affinity !== 'None') {
    invalid('invalid-affinity', `spec.sessionAffinity ${show(affinity)} is not None or ClientIP`);
  }

  let healthCheckNodePort: number | undefined;
  if (type === 'LoadBalancer' && etp === 'Local' && spec.healthCheckNodePort !== undefined && spec.healthCheckNodePort !== null) {
    if (!isPort(spec.healthCheckNodePort)) invalid('invalid-node-port', `spec.healthCheckNodePort ${show(spec.healthCheckNodePort)} is not a port number`);
    healthCheckNodePort = spec.healthCheckNodePort;
  }

  const ignored: ServiceDef['ignored'] = [];
  const lbAlgorithm = readLbAlgorithm(obj.metadata.annotations, affinityTimeout !== undefined, ignored);
  const created = typeof obj.metadata.creationTimestamp === 'string' ? obj.metadata.creationTimestamp : '';
  return {
    program: {
      namespace, name, created, clusterIPs, ports, externalIPs, loadBalancerIPs, sourceRanges,
      externalPolicyLocal: etp === 'Local', internalPolicyLocal: itp === 'Local', affinityTimeout, healthCheckNodePort,
      lbAlgorithm, ignored,
    },
  };
}

/** A bad value costs the annotation only: a warning, and random selection. ClientIP affinity wins over maglev (a warning says so). */
function readLbAlgorithm(annotations: unknown, affinity: boolean, ignored: ServiceDef['ignored']): LbAlgorithm | undefined {
  if (!annotations || typeof annotations !== 'object' || !(LB_ALGORITHM_ANNOTATION in annotations)) return undefined;
  const v = (annotations as Record<string, unknown>)[LB_ALGORITHM_ANNOTATION];
  if (v !== 'maglev' && v !== 'random') {
    ignored.push({ reason: 'invalid-lb-algorithm', message: `annotation ${LB_ALGORITHM_ANNOTATION} ${show(v)} is not maglev or random: endpoints are picked at random` });
    return 'random';
  }
  if (v === 'maglev' && affinity) {
    ignored.push({ reason: 'lb-algorithm-unused', message: `annotation ${LB_ALGORITHM_ANNOTATION} "maglev" is not used: sessionAffinity ClientIP takes precedence` });
  }
  return v;
}

function listOf(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) invalid('invalid-list', `${field} is not a list`);
  return v;
}
