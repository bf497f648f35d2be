// A simulated two-node cluster network in network namespaces, for sending real packets through
// sluice's rules: node1 is the node whose nftables rules are under test. See topology.ts for
// the picture. Nothing is placed in the root namespace: every link joins two lab namespaces.
import crypto from 'node:crypto';
import { run, runOk } from './run.ts';
import type { RunResult } from './run.ts';
import { addNamespaces, deleteNamespaces, destroyLab, PREFIX_PATTERN } from './netns.ts';
import { startEchoProcess } from './echo-process.ts';
import type { EchoProcess } from './echo-process.ts';
import { inNamespace, PROBE_SCRIPT, scriptInNamespace, sysctlShell } from './scripts.ts';
import type { ProbeResult } from './probe-result.ts';
import {
  checkPods, cidrFamily, CLIENT_ADDRESSES, clientScript, lanScript, nodeAddresses, nodeScript, NODE_NAMES,
  nsName, podAddresses, podAttachScript, podCIDRs, podScript, SYSCTLS,
} from './topology.ts';
import type { NodeName, PodSpec } from './topology.ts';

export { destroyLab } from './netns.ts';
export { labAvailable } from './available.ts';
export type { Availability } from './available.ts';
export type { ProbeResult } from './probe-result.ts';
export type { Answer } from './answer.ts';
export type { NodeName, PodSpec } from './topology.ts';

export interface LabHost {
  name: string;
  ns: string;
  ipv4: string;
  ipv6: string;
}

export interface LabNode extends LabHost {
  podCIDRv4: string;
  podCIDRv6: string;
}

export interface LabPod extends LabHost {
  node: NodeName;
  index: number;
}

export interface ProbeTarget {
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
}

export interface ProbeOptions {
  /** sequential attempts, each a new connection (default 1) */
  count?: number;
  /** per attempt (default 1500). A TCP connect can see an ICMP error only on its SYN's first
   * retransmission, 1 s in (see probe-result.ts), so a TCP verdict of unreachable needs more than 1 s. */
  timeoutMs?: number;
  /** source address to bind */
  source?: string;
}

export interface Lab {
  /** every namespace of this lab is named "<prefix>-<host name>" */
  prefix: string;
  node1: LabNode;
  node2: LabNode;
  client: LabHost;
  pods: LabPod[];
  /** run a command inside a namespace of the lab */
  exec(ns: string, cmd: string, args: string[], input?: string): Promise<RunResult>;
  /** nft -f - inside node1 (throws with nft's stderr on failure) */
  loadRules(script: string): Promise<void>;
  probe(from: LabHost, target: ProbeTarget, opts?: ProbeOptions): Promise<ProbeResult>;
  /** adds a pod running the lab's echo servers, e.g. for a demo that scales up */
  addPod(name: string, node: NodeName, index: number): Promise<LabPod>;
  removePod(name: string): Promise<void>;
  /** kills the echo servers and deletes every namespace; safe to call again */
  destroy(): Promise<void>;
}

export interface LabOptions {
  /** namespace name prefix, [a-z][a-z0-9]{1,11}; default "sl" and six random hex digits.
   * Namespaces an earlier run left with the same prefix are deleted first. */
  prefix?: string;
  pods: PodSpec[];
  tcpPorts: number[];
  udpPorts: number[];
  /** CIDRs (load balancer / external addresses) the client routes via node1 */
  extraRoutes?: string[];
}

export async function createLab(opts: LabOptions): Promise<Lab> {
  const prefix = opts.prefix ?? `sl${crypto.randomBytes(3).toString('hex')}`;
  if (!PREFIX_PATTERN.test(prefix)) throw new Error(`lab prefix ${JSON.stringify(prefix)}: want ${PREFIX_PATTERN}`);
  checkPods(opts.pods);
  for (const p of [...opts.tcpPorts, ...opts.udpPorts]) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`not a port: ${p}`);
  }
  const extraRoutes = opts.extraRoutes ?? [];
  extraRoutes.forEach(cidrFamily); // throws on a bad one before anything is built

  await destroyLab(prefix);
  const lab = new RunningLab(prefix, opts.tcpPorts, opts.udpPorts);
  try {
    await lab.build(opts.pods, extraRoutes);
    return lab;
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

function nodeHost(prefix: string, node: NodeName): LabNode {
  return { name: node, ns: nsName(prefix, node), ...nodeAddresses(node), ...podCIDRs(node) };
}

class RunningLab implements Lab {
  readonly prefix: string;
  readonly node1: LabNode;
  readonly node2: LabNode;
  readonly client: LabHost;
  readonly pods: LabPod[] = [];
  readonly #tcpPorts: number[];
  readonly #udpPorts: number[];
  readonly #echo = new Map<string, EchoProcess>();
  #destroyed = false;

  constructor(prefix: string, tcpPorts: number[], udpPorts: number[]) {
    this.prefix = prefix;
    this.node1 = nodeHost(prefix, 'node1');
    this.node2 = nodeHost(prefix, 'node2');
    this.client = { name: 'client', ns: nsName(prefix, 'client'), ...CLIENT_ADDRESSES };
    this.#tcpPorts = [...tcpPorts];
    this.#udpPorts = [...udpPorts];
  }

  async build(pods: PodSpec[], extraRoutes: string[]): Promise<void> {
    const lan = nsName(this.prefix, 'lan');
    const nodes = [this.node1, this.node2];
    const podHosts = pods.map((p) => this.#podHost(p));
    await addNamespaces([lan, this.node1.ns, this.node2.ns, this.client.ns, ...podHosts.map((p) => p.ns)]);
    await Promise.all([
      this.#sysctl(lan, SYSCTLS.lan),
      ...nodes.map((n) => this.#sysctl(n.ns, SYSCTLS.node)),
      ...[this.client, ...podHosts].map((h) => this.#sysctl(h.ns, SYSCTLS.host)),
    ]);
    await this.#ipBatch(lan, lanScript({ node1: this.node1.ns, node2: this.node2.ns, client: this.client.ns }));
    await Promise.all([
      ...NODE_NAMES.map((node) => this.#ipBatch(nsName(this.prefix, node),
        nodeScript(node) + podHosts.filter((p) => p.node === node).map((p) => podAttachScript(p, p.ns)).join(''))),
      this.#ipBatch(this.client.ns, clientScript(extraRoutes)),
    ]);
    await Promise.all(podHosts.map((p) => this.#ipBatch(p.ns, podScript(p))));
    // allSettled: on a failure, no server may still be starting when destroy() runs.
    const started = await Promise.allSettled(podHosts.map((p) => this.#startPod(p)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async exec(ns: string, cmd: string, args: string[], input?: string): Promise<RunResult> {
    this.#checkNamespace(ns);
    const [c, a] = inNamespace(ns, cmd, args);
    return run(c, a, { input });
  }

  async loadRules(script: string): Promise<void> {
    const r = await this.exec(this.node1.ns, 'nft', ['-f', '-'], script);
    if (r.exitCode !== 0) throw new Error(`nft -f - in ${this.node1.ns} failed:\n${r.stderr.trim()}`);
  }

  async probe(from: LabHost, target: ProbeTarget, opts: ProbeOptions = {}): Promise<ProbeResult> {
    this.#checkNamespace(from.ns);
    const count = opts.count ?? 1;
    const timeoutMs = opts.timeoutMs ?? 1500;
    const args = ['--proto', target.proto, '--host', target.host, '--port', String(target.port),
      '--count', String(count), '--timeout-ms', String(timeoutMs)];
    if (opts.source) args.push('--source', opts.source);
    const [cmd, cmdArgs] = scriptInNamespace(from.ns, PROBE_SCRIPT, args);
    const r = await run(cmd, cmdArgs, { timeoutMs: count * (timeoutMs + 1000) + 10_000 });
    if (r.exitCode !== 0) throw new Error(`probe from ${from.name} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as ProbeResult;
  }

  async addPod(name: string, node: NodeName, index: number): Promise<LabPod> {
    if (this.#destroyed) throw new Error('the lab is destroyed');
    const spec = { name, node, index };
    checkPods([spec], this.pods);
    const pod = this.#podHost(spec);
    try {
      await addNamespaces([pod.ns]);
      await this.#sysctl(pod.ns, SYSCTLS.host);
      await this.#ipBatch(nsName(this.prefix, node), podAttachScript(pod, pod.ns));
      await this.#ipBatch(pod.ns, podScript(pod));
      await this.#startPod(pod);
    } catch (err) {
      await this.removePod(name);
      throw err;
    }
    return pod;
  }

  async removePod(name: string): Promise<void> {
    await this.#echo.get(name)?.stop();
    this.#echo.delete(name);
    const i = this.pods.findIndex((p) => p.name === name);
    if (i >= 0) this.pods.splice(i, 1);
    // The node's end of the veth goes with the pod's namespace.
    await deleteNamespaces([nsName(this.prefix, name)]);
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all([...this.#echo.values()].map((e) => e.stop()));
    this.#echo.clear();
    this.pods.length = 0;
    await destroyLab(this.prefix);
  }

  #podHost(spec: PodSpec): LabPod {
    return { name: spec.name, ns: nsName(this.prefix, spec.name), node: spec.node, index: spec.index, ...podAddresses(spec.node, spec.index) };
  }

  async #startPod(pod: LabPod): Promise<void> {
    this.pods.push(pod);
    if (this.#tcpPorts.length + this.#udpPorts.length === 0) return;
    this.#echo.set(pod.name, await startEchoProcess(pod.ns, pod.name, this.#tcpPorts, this.#udpPorts));
    await this.#awaitAnswers(pod);
  }

  /** The pod's node reaches its echo server on both addresses: addresses and links are up. */
  async #awaitAnswers(pod: LabPod): Promise<void> {
    const node = pod.node === 'node1' ? this.node1 : this.node2;
    const proto = this.#tcpPorts.length ? 'tcp' : 'udp';
    const port = this.#tcpPorts[0] ?? this.#udpPorts[0];
    await Promise.all([pod.ipv4, pod.ipv6].map(async (host) => {
      let last: ProbeResult | undefined;
      for (let tries = 0; tries < 5 && !last?.answers.length; tries++) {
        last = await this.probe(node, { proto, host, port }, { timeoutMs: 500 });
      }
      if (!last?.answers.length) {
        throw new Error(`pod ${pod.name}: no answer from ${proto} ${host}:${port} seen from ${node.name}: ${JSON.stringify(last)}`);
      }
    }));
  }

  #checkNamespace(ns: string): void {
    const ours = [this.node1.ns, this.node2.ns, this.client.ns, nsName(this.prefix, 'lan'), ...this.pods.map((p) => p.ns)];
    if (!ours.includes(ns)) throw new Error(`${ns} is not a namespace of lab ${this.prefix}`);
  }

  #sysctl(ns: string, settings: string[]): Promise<string> {
    const [cmd, args] = inNamespace(ns, 'sh', ['-c', sysctlShell(settings)]);
    return runOk(cmd, args);
  }

  #ipBatch(ns: string, script: string): Promise<string> {
    return runOk('ip', ['-n', ns, '-batch', '-'], { input: script });
  }
}
