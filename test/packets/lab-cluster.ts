// The packet tests' cluster: lab's network with sluice's rules for rules-fixtures/lab-cluster
// loaded on node1. Only node1 runs sluice: clients of services are the client, node1 and its pods.
import { join } from 'node:path';
import { createLab, labAvailable, type Lab, type LabHost, type ProbeResult } from '../../lab/lab.ts';
import { FIXTURES, renderCase } from '../support/render-case.ts';

export const LAB_CASE = join(FIXTURES, 'lab-cluster');

export async function startLabCluster(caseDir = LAB_CASE): Promise<Lab> {
  const lab = await createLab({
    pods: [
      { name: 'pa1', node: 'node1', index: 11 },
      { name: 'pa2', node: 'node1', index: 12 },
      { name: 'pb1', node: 'node2', index: 11 },
      { name: 'pb2', node: 'node2', index: 12 },
    ],
    tcpPorts: [9376, 8080],
    udpPorts: [9376],
    extraRoutes: ['146.148.47.155/32', '203.0.113.0/24', '198.51.100.0/24', '2001:db8:1b::/64'],
  });
  try {
    await lab.loadRules(renderCase(caseDir).script);
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

export { labAvailable };

/** How many answers each backend gave. */
export function tally(r: ProbeResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of r.answers) out[a.backend] = (out[a.backend] ?? 0) + 1;
  return out;
}

export function sources(r: ProbeResult): string[] {
  return [...new Set(r.answers.map((a) => a.sawSource))].sort();
}

export function pod(lab: Lab, name: string): LabHost {
  const p = lab.pods.find((x) => x.name === name);
  if (!p) throw new Error(`no pod ${name}`);
  return p;
}
