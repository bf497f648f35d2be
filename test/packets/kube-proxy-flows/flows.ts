// kube-proxy's packet-flow tests as real packets: a flow is a source, a destination and what kube-proxy
// expects (the endpoints it may reach and whether it is masqueraded, REJECT, DROP, or untouched), and
// each becomes one jest test that compares what the lab saw with that expectation.
import type { Lab, LabHost, ProbeResult } from '../../../lab/lab.ts';
import { labAvailable } from '../../../lab/lab.ts';
import { BLOCKED_CLIENT_IP, CLIENT_IP, labPod, loadFixture, MASQUERADED_SOURCE, NODE_IP, startKubeProxyLab } from './kp-lab.ts';

export type Family = 4 | 6;

/**
 * Who sends: a pod that is no endpoint ("pod"), node1 from its own address ("node"), the client
 * ("client") or its address outside the source ranges ("blocked-client"), an endpoint pod itself,
 * or node1 from another address it holds (set up by the test, e.g. a load-balancer IP).
 */
export type Source = 'pod' | 'node' | 'client' | 'blocked-client' | { endpoint: string } | { nodeAddress: string };

/**
 * kube-proxy's output: the endpoints ("pod:port") a flow may reach and whether it is masqueraded;
 * REJECT (refused at once), DROP (no answer), or HOST: no rule touches it, the node's own socket
 * answers (the test runs one as "node1-own").
 */
export type Expectation = { reach: string[]; masq: boolean } | 'REJECT' | 'DROP' | 'HOST';

export interface Flow {
  /** kube-proxy's name for the flow */
  name: string;
  from: Source;
  proto?: 'tcp' | 'udp';
  to: string;
  port: number;
  expect: Expectation;
}

/** What a probe saw, in a shape an expectation can be written in. */
export interface Seen {
  reached: string[];
  /** per endpoint reached, the source addresses it saw */
  sources: Record<string, string[]>;
  refused: number;
  timedOut: number;
  unreachable: number;
  errors: string[];
}

const familyOf = (address: string): Family => (address.includes(':') ? 6 : 4);

function sender(lab: Lab, from: Source, family: Family): { host: LabHost; source: string } {
  if (from === 'pod') return { host: labPod(lab, 'cp'), source: familyAddress(labPod(lab, 'cp'), family) };
  if (from === 'node') return { host: lab.node1, source: NODE_IP[family] };
  if (from === 'client') return { host: lab.client, source: CLIENT_IP[family] };
  if (from === 'blocked-client') return { host: lab.client, source: BLOCKED_CLIENT_IP };
  if ('endpoint' in from) { const p = labPod(lab, from.endpoint); return { host: p, source: familyAddress(p, family) }; }
  return { host: lab.node1, source: from.nodeAddress };
}

const familyAddress = (h: LabHost, family: Family) => (family === 4 ? h.ipv4 : h.ipv6);

/** Enough connections that every allowed endpoint shows up (a miss is below 1 in 10^5 with 3 at random). */
function attempts(e: Expectation): number {
  if (e === 'REJECT') return 2;
  if (e === 'DROP') return 1;
  if (e === 'HOST') return 3;
  return Math.max(12, 12 * e.reach.length);
}

function summarize(r: ProbeResult): Seen {
  const sources: Record<string, Set<string>> = {};
  for (const a of r.answers) (sources[`${a.backend}:${a.port}`] ??= new Set()).add(a.sawSource);
  return {
    reached: Object.keys(sources).sort(),
    sources: Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, [...v].sort()])),
    refused: r.refused, timedOut: r.timedOut, unreachable: r.unreachable, errors: r.errors,
  };
}

/** The observation kube-proxy's expectation predicts for this flow in the lab. */
function predicted(lab: Lab, flow: Flow, source: string, count: number): Seen {
  const none = { reached: [], sources: {}, refused: 0, timedOut: 0, unreachable: 0, errors: [] };
  const family = familyOf(flow.to);
  if (flow.expect === 'REJECT') return { ...none, refused: count };
  if (flow.expect === 'DROP') return { ...none, timedOut: count };
  if (flow.expect === 'HOST') {
    const own = `node1-own:${flow.port}`;
    return { ...none, reached: [own], sources: { [own]: [source] } };
  }
  const { masq } = flow.expect;
  const reached = [...flow.expect.reach].sort();
  // Masquerading rewrites the source to the node's address on the way to the endpoint's node.
  const sources = Object.fromEntries(reached.map((b) => [b, [masq ? MASQUERADED_SOURCE[labPod(lab, b.split(':')[0]).node][family] : source]]));
  return { ...none, reached, sources };
}

export async function observeFlow(lab: Lab, flow: Flow): Promise<{ seen: Seen; expected: Seen }> {
  const family = familyOf(flow.to);
  const { host, source } = sender(lab, flow.from, family);
  const count = attempts(flow.expect);
  const r = await lab.probe(host, { proto: flow.proto ?? 'tcp', host: flow.to, port: flow.port },
    { count, timeoutMs: flow.expect === 'DROP' ? 1000 : 1500, source });
  return { seen: summarize(r), expected: predicted(lab, flow, source, count) };
}

export function describeSource(from: Source): string {
  if (typeof from === 'string') return from;
  return 'endpoint' in from ? from.endpoint : `node from ${from.nodeAddress}`;
}

export function flowTitle(flow: Flow): string {
  const e = flow.expect;
  const outcome = typeof e === 'string' ? e : `${e.reach.join(', ')}${e.masq ? ', masqueraded' : ''}`;
  return `${flow.name} (${describeSource(flow.from)} -> ${flow.proto ?? 'tcp'} ${flow.to}:${flow.port}: ${outcome})`;
}

/** Runs the flows a few at a time: each probe is a process of its own, and drops wait out their timeout. */
export async function observeAll(lab: Lab, flows: Flow[], parallel = 4): Promise<Map<Flow, { seen: Seen; expected: Seen }>> {
  const out = new Map<Flow, { seen: Seen; expected: Seen }>();
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < flows.length) {
      const flow = flows[next++];
      out.set(flow, await observeFlow(lab, flow));
    }
  }));
  return out;
}

export interface FlowGroup {
  /** kube-proxy's test (and sub-case) */
  title: string;
  fixture: string;
  flows: Flow[];
  /** set-up the flows need (an address, a server on the node); returns its undo */
  setup?: (lab: Lab) => Promise<() => Promise<void>>;
}

const availability = await labAvailable();
export const skipNote = availability.ok ? '' : ` (skipped: ${availability.reason})`;

/**
 * One describe per file: a lab, then per group its fixture loaded and its flows probed, one test per
 * flow. `known: true` marks flows where sluice differs from kube-proxy: test.failing, so they stay
 * visible and turn red once sluice matches kube-proxy.
 */
export function describeKubeProxyFlows(title: string, groups: FlowGroup[], opts: { known?: boolean } = {}): void {
  const maybe = availability.ok ? describe : describe.skip;
  maybe(`${title}${skipNote}`, () => {
    let lab: Lab | undefined;
    beforeAll(async () => { lab = await startKubeProxyLab(); });
    afterAll(async () => { await lab?.destroy(); });
    for (const group of groups) {
      describe(`${group.title} [rules-fixtures/${group.fixture}]`, () => {
        let results = new Map<Flow, { seen: Seen; expected: Seen }>();
        beforeAll(async () => {
          await loadFixture(lab!, group.fixture);
          const undo = group.setup ? await group.setup(lab!) : undefined;
          try {
            results = await observeAll(lab!, group.flows);
          } finally {
            await undo?.();
          }
        });
        for (const flow of group.flows) {
          if (opts.known) {
            test.failing(flowTitle(flow), () => {
              const r = results.get(flow);
              // Not observed (the lab failed): return without an error, so test.failing reports a failure, not a pass.
              if (!r) return;
              expect(r.seen).toEqual(r.expected);
            });
          } else {
            test(flowTitle(flow), () => {
              const r = results.get(flow);
              expect(r).toBeDefined();
              expect(r!.seen).toEqual(r!.expected);
            });
          }
        }
      });
    }
  });
}
