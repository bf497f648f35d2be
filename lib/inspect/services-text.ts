// `sluice services` for people.
import type { Front, ServicesView } from './services.ts';

const hostPort = (a: string, p: number) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);

function front(f: Front, proto: string): string {
  switch (f.kind) {
    case 'node-port': return `node port ${f.port}/${proto}`;
    case 'cluster-ip': return `cluster IP ${hostPort(f.address, f.port)}/${proto}`;
    case 'load-balancer': return `load balancer ${hostPort(f.address, f.port)}/${proto}`;
    case 'external-ip': return `external IP ${hostPort(f.address, f.port)}/${proto}`;
  }
}

export function servicesText(v: ServicesView): string {
  const out: string[] = [`node ${v.node.name}${v.node.known ? '' : ' (no Node object found)'}: ${v.node.internalIPs.join(', ') || 'no InternalIP'}`];
  for (const sp of v.servicePorts) {
    const port = sp.fronts[0].port;
    out.push('', `${sp.namespace}/${sp.name} port ${sp.portName ? `${sp.portName} (${port})` : port}/${sp.protocol}, IPv${sp.family}`);
    out.push(`  fronts:   ${sp.fronts.map((f) => front(f, sp.protocol)).join(', ')}`);
    const policies = [`internal ${sp.internalTrafficPolicy}`, ...(sp.externalTrafficPolicy ? [`external ${sp.externalTrafficPolicy}`] : [])];
    out.push(`  policies: ${policies.join(', ')}${sp.affinityTimeoutSeconds !== undefined ? `; ClientIP affinity ${sp.affinityTimeoutSeconds} s` : ''}`);
    if (sp.sourceRanges.length) out.push(`  source ranges: ${sp.sourceRanges.join(', ')}`);
    if (sp.healthCheckNodePort !== undefined) out.push(`  health-check node port: ${sp.healthCheckNodePort}`);
    if (sp.endpoints.length === 0) out.push('  endpoints: none');
    else out.push('  endpoints:');
    for (const e of sp.endpoints) {
      const cond = [e.ready ? 'ready' : 'not ready', e.serving ? 'serving' : 'not serving', ...(e.terminating ? ['terminating'] : []), e.local ? 'local' : `on ${e.nodeName ?? 'no node'}`];
      const use = [...(e.forCluster ? ['cluster'] : []), ...(e.forExternal ? ['external'] : [])];
      out.push(`    ${hostPort(e.address, e.port).padEnd(28)} ${cond.join(', ')}; ${use.length ? `in use for ${use.join(' and ')} traffic` : 'not in use'}`);
    }
    if (sp.note) out.push(`  note: ${sp.note}`);
  }
  if (v.skipped.length) {
    out.push('', 'skipped:');
    for (const p of v.skipped) out.push(`  ${p.kind} ${p.object}: ${p.message}`);
  }
  return out.join('\n') + '\n';
}
