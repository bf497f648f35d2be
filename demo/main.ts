// `make demo`: sluice live on one machine. Builds lab's two-node network, runs `sluice run` in
// node1's namespace on a copy of examples/demo, sends traffic from the client, edits the example
// while sluice runs, and removes everything it made, also on Ctrl-C. Without root, nft or ip it
// shows the dry run (`sluice render`) instead and exits 1.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadConfigFile } from '../lib/config/kube-proxy-config.ts';
import { createLab, destroyLab, labAvailable, type Lab } from '../lab/lab.ts';
import { run } from '../lab/run.ts';
import { nodeBinary } from '../lab/scripts.ts';
import { SERVICE_CIDRS } from '../lab/topology.ts';
import { CONFIG_FILE, EXAMPLE_DIR, readExample, SLUICE_NODE, type Example } from './example.ts';
import {
  heading, markNotReady, metricsSummary, scaleUp, showAffinity, showLocalPolicy, showMyService, type DemoContext,
} from './scenario.ts';
import { SLUICE_CMD, SluiceProcess } from './sluice-process.ts';
import { formatTable } from './table.ts';

export interface DemoOptions {
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Leave the lab and sluice running until SIGINT or SIGTERM. */
  keep?: boolean;
}

const FIRST_SYNC_TIMEOUT_MS = 20_000;
/** How long clean-up waits for a lab step under way (building, adding a pod) before removing its namespaces. */
const BUSY_WAIT_MS = 15_000;

function shown(path: string): string {
  return relative(process.cwd(), path) || '.';
}

export function renderCommand(): string {
  return `npx sluice render --from ${shown(EXAMPLE_DIR)} --config ${shown(join(EXAMPLE_DIR, CONFIG_FILE))}`;
}

export async function runDemo(o: DemoOptions = {}): Promise<number> {
  const out = o.out ?? ((l: string) => { process.stdout.write(`${l}\n`); });
  const err = o.err ?? ((l: string) => { process.stderr.write(`${l}\n`); });
  const available = await labAvailable();
  if (!available.ok) return dryRun(out, err, available.reason);
  return live(out, err, o.keep ?? false);
}

/** What `sluice render` makes of the example, then why the live part cannot run here. */
async function dryRun(out: (l: string) => void, err: (l: string) => void, reason: string): Promise<number> {
  out(`sluice demo, dry run: the nft script sluice writes for examples/demo on ${SLUICE_NODE}`);
  out(`$ ${renderCommand()}`);
  const r = await run(nodeBinary(), [SLUICE_CMD, 'render', '--from', EXAMPLE_DIR, '--config', join(EXAMPLE_DIR, CONFIG_FILE)]);
  out(r.stdout.trimEnd());
  if (r.stderr.trim()) err(r.stderr.trimEnd());
  err(`sluice demo: no live demo here: ${reason}; above is the dry run, which needs neither root nor a kernel`);
  return 1;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function live(print: (l: string) => void, err: (l: string) => void, keep: boolean): Promise<number> {
  const started = Date.now();
  let interrupted: string | undefined;
  // Once interrupted, only clean-up speaks.
  const out = (l: string) => { if (!interrupted) print(l); };
  const prefix = `demo${randomBytes(3).toString('hex')}`;
  const example = readExample(EXAMPLE_DIR);
  let lab: Lab | undefined;
  let sluice: SluiceProcess | undefined;
  let dir: string | undefined;
  let busy: Promise<unknown> = Promise.resolve();
  const track = <T>(step: Promise<T>): Promise<T> => {
    busy = step;
    return step;
  };

  let cleaning: Promise<void> | undefined;
  const cleanup = () => cleaning ??= (async () => {
    await sluice?.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([busy.catch(() => {}), new Promise((r) => { timer = setTimeout(r, BUSY_WAIT_MS); })]);
    clearTimeout(timer);
    await lab?.destroy();
    await destroyLab(prefix); // whatever a lab interrupted while being built left
    if (dir) rmSync(dir, { recursive: true, force: true });
  })();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    err(`\nsluice demo: ${signal}: stopping sluice, removing namespaces ${prefix}-*`);
    cleanup().catch((e) => err(`sluice demo: clean-up: ${(e as Error).message}`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code = 0;
  try {
    out('sluice demo: Kubernetes Services served by sluice on a two-node cluster network in network namespaces');
    out(`(examples/demo; every namespace is named ${prefix}-*, and all of it is removed at the end)`);

    heading(out, 'The lab (lab, the packet tests\' network)');
    const buildStart = Date.now();
    lab = await track(createLab({ prefix, pods: example.pods, tcpPorts: example.podPorts, udpPorts: [], extraRoutes: example.extraRoutes }));
    showLab(out, lab, example);
    out(`  built in ${seconds(Date.now() - buildStart)}`);

    dir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
    cpSync(EXAMPLE_DIR, dir, { recursive: true });
    const configFile = join(dir, CONFIG_FILE);
    const config = loadConfigFile(configFile, () => {});
    heading(out, `sluice run, in ${SLUICE_NODE}'s namespace, watching a copy of examples/demo`);
    sluice = new SluiceProcess(lab.node1.ns, ['run', '--from', dir, '--config', configFile, '--log-format', 'json', '--log-level', 'debug']);
    out(`  $ ${sluice.display}`);
    const { line: first, index } = await sluice.waitFor('first full sync', (l) => l.msg === 'full sync', 0, FIRST_SYNC_TIMEOUT_MS);
    for (const l of sluice.lines.slice(0, index)) if (l.level === 'warn' || l.level === 'error') out(`  sluice ${l.level}: ${l.msg}`);
    out(`  first full sync: ${first.fields.lines} lines of nft in ${first.fields.durationMs} ms, ${first.fields.servicePorts} service ports`);

    const ctx: DemoContext = { out, lab, sluice, dir, example, track };
    await showMyService(ctx);
    await showLocalPolicy(ctx);
    await showAffinity(ctx);
    await markNotReady(ctx, await scaleUp(ctx));

    const metricsURL = `http://${config.metricsBindAddress}/metrics`;
    const metrics = await metricsSummary(ctx, metricsURL, nodeBinary());
    heading(out, 'Where to look next');
    const hints = [
      [renderCommand(), 'the same rules from the same folder, without root or a kernel'],
      ['npm run demo -- --keep', 'leaves the lab and sluice running until Ctrl-C; meanwhile (names of this run):'],
      [`ip netns exec ${lab.node1.ns} curl -s ${metricsURL}`, `sluice's metrics${metrics ? ` (now: ${metrics})` : ''}`],
      [`ip netns exec ${lab.node1.ns} nft list table ip sluice`, 'the rules in node1\'s kernel'],
    ];
    for (const [cmd, what] of hints) {
      out(`  ${cmd}`);
      out(`      ${what}`);
    }
    if (keep) {
      out('');
      out(`Left running: sluice in ${lab.node1.ns}, watching ${dir} (edit its files: sluice applies each change).`);
      out('Ctrl-C removes it all.');
      await new Promise(() => {}); // the signal handler cleans up and exits
    }
  } catch (e) {
    if (!interrupted) {
      err(`sluice demo failed: ${(e as Error).message}`);
      code = 1;
    }
  }
  if (interrupted) await new Promise(() => {}); // the signal handler exits once clean-up is done
  await cleanup();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (code === 0) {
    out('');
    out(`Done in ${seconds(Date.now() - started)}: sluice stopped, namespaces ${prefix}-* and ${dir} removed.`);
  }
  return code;
}

function showLab(out: (l: string) => void, lab: Lab, example: Example): void {
  const podsOf = (node: string) => lab.pods.filter((p) => p.node === node).map((p) => `${p.name} ${p.ipv4}`).join(', ');
  const routes = [SERVICE_CIDRS[0], ...example.extraRoutes].join(' and ');
  const rows = [
    ['node1', lab.node1.ipv4, `runs sluice; pods ${podsOf('node1')}`],
    ['node2', lab.node2.ipv4, `pods ${podsOf('node2')}`],
    ['client', lab.client.ipv4, `outside the cluster; routes ${routes} via node1`],
  ];
  for (const l of formatTable(['host', 'address', 'role'], rows)) out(`  ${l}`);
}
