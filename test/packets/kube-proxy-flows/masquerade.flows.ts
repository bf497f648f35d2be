// kube-proxy's TestInternalExternalMasquerade: 27 flows to three services, under four configurations
// that change some flows' endpoints or masquerade (kube-proxy's "overrides").
import type { Flow, FlowGroup, Source } from './flows.ts';
import { NODE_IP } from './kp-lab.ts';

type Target = 'ClusterIP' | 'NodePort' | 'LB';
// svc1: policies Cluster; svc2: externalTrafficPolicy Local; svc3: internalTrafficPolicy Local.
const SERVICES = [
  { suffix: '', clusterIP: '10.96.0.41', nodePort: 3001, lb: '198.51.100.4', local: 'l1:80', remote: 'r1:80' },
  { suffix: ' with eTP:Local', clusterIP: '10.96.0.42', nodePort: 3002, lb: '198.51.100.8', local: 'l2:80', remote: 'r2:80' },
  { suffix: ' with iTP:Local', clusterIP: '10.96.0.43', nodePort: 3003, lb: '198.51.100.12', local: 'l3:80', remote: 'r3:80' },
];
const SOURCES: [string, Source][] = [['pod', 'pod'], ['node', 'node'], ['external', 'client']];

/** kube-proxy's expectations with a working local detector and no masqueradeAll. */
function baseExpectation(svc: number, who: string, target: Target): { reach: string[]; masq: boolean } {
  const s = SERVICES[svc];
  const both = [s.local, s.remote];
  const masq = !(who === 'pod' && (target === 'ClusterIP' || svc === 1));
  if (svc === 1 && who === 'external' && target !== 'ClusterIP') return { reach: [s.local], masq: false };
  if (svc === 2 && target === 'ClusterIP') return { reach: [s.local], masq: who !== 'pod' };
  return { reach: both, masq };
}

function baseFlows(): Flow[] {
  const flows: Flow[] = [];
  SERVICES.forEach((s, svc) => {
    for (const [who, from] of SOURCES) {
      for (const target of ['ClusterIP', 'NodePort', 'LB'] as Target[]) {
        const name = `${who} to ${target}${s.suffix}`;
        const to = target === 'ClusterIP' ? s.clusterIP : target === 'LB' ? s.lb : NODE_IP[4];
        let port = target === 'NodePort' ? s.nodePort : 80;
        let expect = baseExpectation(svc, who, target);
        // kube-proxy's flow of this name goes to svc1's node port (3001), and expects svc1's endpoints.
        if (name === 'node to NodePort with eTP:Local') { port = SERVICES[0].nodePort; expect = baseExpectation(0, who, target); }
        flows.push({ name, from, to, port, expect });
      }
    }
  });
  return flows;
}

type Override = { masq?: boolean; reach?: string[] };

function withOverrides(overrides: Record<string, Override>): Flow[] {
  const flows = baseFlows();
  const unknown = Object.keys(overrides).filter((n) => !flows.some((f) => f.name === n));
  if (unknown.length) throw new Error(`overrides for no flow: ${unknown.join(', ')}`);
  return flows.map((f) => (overrides[f.name] && typeof f.expect !== 'string' ? { ...f, expect: { ...f.expect, ...overrides[f.name] } } : f));
}

// With no local detector all traffic to a cluster IP counts as a pod's (unmasqueraded), and there is
// no short-circuit for pods to an eTP:Local service's node port and LB IP: they get the local endpoint.
const NO_DETECTOR: Record<string, Override> = {
  'node to ClusterIP': { masq: false },
  'node to ClusterIP with eTP:Local': { masq: false },
  'node to ClusterIP with iTP:Local': { masq: false },
  'external to ClusterIP': { masq: false },
  'external to ClusterIP with eTP:Local': { masq: false },
  'external to ClusterIP with iTP:Local': { masq: false },
  'pod to NodePort with eTP:Local': { reach: ['l2:80'] },
  'pod to LB with eTP:Local': { reach: ['l2:80'] },
};
// masqueradeAll masquerades every connection to a cluster IP.
const MASQUERADE_ALL: Record<string, Override> = {
  'pod to ClusterIP': { masq: true },
  'pod to ClusterIP with eTP:Local': { masq: true },
  'pod to ClusterIP with iTP:Local': { masq: true },
};

export const MASQUERADE_GROUPS: FlowGroup[] = [
  { title: 'TestInternalExternalMasquerade/base', fixture: 'kp-masquerade-base', flows: withOverrides({}) },
  { title: 'TestInternalExternalMasquerade/no LocalTrafficDetector', fixture: 'kp-masquerade-no-local-detector', flows: withOverrides(NO_DETECTOR) },
  { title: 'TestInternalExternalMasquerade/masqueradeAll', fixture: 'kp-masquerade-all', flows: withOverrides(MASQUERADE_ALL) },
  {
    title: 'TestInternalExternalMasquerade/masqueradeAll, no LocalTrafficDetector',
    fixture: 'kp-masquerade-all-no-local-detector',
    flows: withOverrides({
      ...MASQUERADE_ALL,
      'pod to NodePort with eTP:Local': NO_DETECTOR['pod to NodePort with eTP:Local'],
      'pod to LB with eTP:Local': NO_DETECTOR['pod to LB with eTP:Local'],
    }),
  },
];
