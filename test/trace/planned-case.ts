// A golden case planned as the sync would plan it, and every front of its services to trace.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG, loadConfigFile } from '../../lib/config/kube-proxy-config.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import { planFromStore, resolveNodeName } from '../../lib/render.ts';
import { lookup } from '../../lib/trace/lookup.ts';
import type { Planned, TraceRequest } from '../../lib/trace/trace.ts';
import { VIAS } from '../../lib/trace/packet.ts';

export function plannedCase(dir: string): Planned {
  const configFile = join(dir, 'config.yaml');
  const config = existsSync(configFile) ? loadConfigFile(configFile, () => {}) : DEFAULT_CONFIG;
  const { store } = loadManifests(join(dir, 'manifests'));
  const { model, ruleset } = planFromStore(store, config, resolveNodeName(store, config));
  return { model, ruleset, config };
}

const hostPort = (a: string, p: number) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);

/** Cluster IP, node ports (on a node address that serves them), load-balancer and external IPs, from each side; plus a non-service address. */
export function everyFront(p: Planned): TraceRequest[] {
  const tos = new Set<string>();
  for (const sp of p.model.servicePorts) {
    const to = (a: string, port: number) => tos.add(`${hostPort(a, port)}/${sp.protocol}`);
    to(sp.clusterIP, sp.port);
    for (const a of [...sp.loadBalancerIPs, ...sp.externalIPs]) to(a, sp.port);
    if (sp.nodePort !== undefined) {
      const table = p.ruleset.tables.find((t) => t.family === (sp.family === 4 ? 'ip' : 'ip6'))!;
      const at = p.model.node.internalIPs.find((ip) => lookup(table.elements['nodeport-ips'], ip));
      if (at) to(at, sp.nodePort);
    }
  }
  tos.add('192.0.2.1:80/tcp');
  tos.add('[2001:db8::99]:53/udp');
  return [...tos].flatMap((to) => VIAS.map((via) => ({ to, via })));
}
