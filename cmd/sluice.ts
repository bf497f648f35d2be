#!/usr/bin/env -S node --max-semi-space-size=8 --expose-gc
// sluice's command line: parses flags and hands over to lib/; no logic of its own.
import { once } from 'node:events';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parseDuration } from '../lib/config/duration.ts';
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, type ProxyConfig } from '../lib/config/kube-proxy-config.ts';
import { levelForVerbosity } from '../lib/config/logging.ts';
import { createLogger, type LogLevel } from '../lib/log.ts';
import { isDNS1123Subdomain } from '../lib/model/validate.ts';

const LOG_LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

const USAGE = `usage: sluice <command> [flags]

commands:
  render --from PATH [--config FILE] [--node NAME]
      print the nft script for the Services in PATH (manifest file or folder); touches nothing
  run [--from PATH | --kubeconfig FILE] [--config FILE] [--node NAME] [--watch-endpoints] [--cleanup-kube-proxy]
      [--full-sync-period DURATION]
      keep this node's rules equal to the cluster (or to the manifests in PATH, watched for changes)
  diff [--from PATH | --kubeconfig FILE] [--config FILE] [--node NAME]
      print the transaction a sync would send now, against the kernel's current tables; applies nothing
  trace --to IP:PORT[/PROTO] [--src IP] [--via pod|node|external] [--from PATH | --kubeconfig FILE] [--output text|json] [--kernel]
      the path a new connection takes through this node's rules: chains, endpoints and their chance, masquerade,
      or the reject or drop and why; --kernel checks it with a real packet in a scratch network namespace
  services [NAMESPACE[/NAME]] [--from PATH | --kubeconfig FILE] [--output text|json]
      every front of each service port, its endpoints and which traffic uses them, policies, what was skipped
  cleanup [--kube-proxy]
      remove sluice's tables (ip sluice, ip6 sluice) and nothing else; with --kube-proxy, remove instead
      kube-proxy's leftovers (its nftables tables, KUBE-* iptables chains and the jumps to them, IPVS state)
  help
      this text

flags:
  --from PATH         manifests: .yaml, .yml or .json files, or a folder of them
  --config FILE       a KubeProxyConfiguration file (kubeproxy.config.k8s.io/v1alpha1 or v1alpha2)
  --node NAME         this node's name (default: hostnameOverride; for render the only Node given; the hostname)
  --kubeconfig FILE   the cluster to watch (default: the config's clientConnection.kubeconfig; in a pod its service
                      account, else KUBECONFIG or ~/.kube/config)
  --log-format FMT    json or text (default: the config's logging.format; text for render, json for run)
  --log-level LEVEL   debug, info, warn or error (default: info, debug for the config's logging.verbosity 4 or
                      more; debug adds each partial sync's transaction)
  --to, --src, --via  trace: destination (IPv6 as [IP]:PORT/PROTO, tcp by default), source, where the packet enters
  --output FMT        trace, services: text or json (default text)
  --kernel            trace: also send the packet through the kernel and say whether it agrees
  --watch-endpoints   run: also watch v1 Endpoints (needs deploy/rbac-endpoints.yaml)
  --cleanup-kube-proxy  run: remove kube-proxy's leftovers after the first sync (they are always reported)
  --full-sync-period DURATION  run: how often the tables are written whole, state kept (default 1h, as kube-proxy;
                      a Go duration such as 10m)
`;

function usageError(message: string): never {
  process.stderr.write(`sluice: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function readConfig(path: string | undefined, warn: (msg: string) => void): ProxyConfig {
  if (!path) return DEFAULT_CONFIG;
  try {
    return loadConfigFile(path, warn);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`sluice: invalid configuration: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** The node name reaches the rules (as a comment) and decides which endpoints are local: it must be a valid one. */
function checkNodeName(name: string): string {
  if (!isDNS1123Subdomain(name)) usageError(`node name ${JSON.stringify(name).slice(0, 80)} is not a valid Kubernetes node name (use --node)`);
  return name;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        from: { type: 'string' },
        config: { type: 'string' },
        node: { type: 'string' },
        kubeconfig: { type: 'string' },
        'log-format': { type: 'string' },
        'log-level': { type: 'string' },
        to: { type: 'string' },
        src: { type: 'string' },
        via: { type: 'string' },
        output: { type: 'string' },
        kernel: { type: 'boolean' },
        'watch-endpoints': { type: 'boolean' },
        'cleanup-kube-proxy': { type: 'boolean' },
        'full-sync-period': { type: 'string' },
        'kube-proxy': { type: 'boolean' },
      },
      allowPositionals: command === 'services',
      strict: true,
    });
  } catch (e) {
    usageError((e as Error).message);
  }
  const flags = parsed.values;
  const inspecting = command === 'trace' || command === 'services';
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') usageError(`--output ${output}: expected text or json`);
  const flagFormat = flags['log-format'];
  if (flagFormat !== undefined && flagFormat !== 'json' && flagFormat !== 'text') usageError(`--log-format ${flagFormat}: expected json or text`);
  const flagLevel = flags['log-level'];
  if (flagLevel !== undefined && !LOG_LEVELS.includes(flagLevel as LogLevel)) usageError(`--log-level ${flagLevel}: expected ${LOG_LEVELS.join(', ')}`);
  // The configuration's logging.format and verbosity apply unless the command line says otherwise;
  // its warnings wait for the logger they choose.
  const configWarnings: string[] = [];
  const configFor = new Set(['render', 'run', 'diff', 'trace', 'services']).has(command) ? readConfig(flags.config, (m) => configWarnings.push(m)) : DEFAULT_CONFIG;
  const format: 'json' | 'text' = (flagFormat as 'json' | 'text' | undefined) ?? configFor.logging.format ?? (command === 'render' || inspecting ? 'text' : 'json');
  const level = (flagLevel as LogLevel | undefined) ?? levelForVerbosity(configFor.logging.verbosity);
  const log = createLogger({ format, level });
  for (const w of configWarnings) log.warn(w);

  switch (command) {
    case 'render': {
      if (!flags.from) usageError('render needs --from PATH');
      const config = configFor;
      const { loadManifests } = await import('../lib/manifests/load.ts');
      const { renderStoreChunks, resolveNodeName } = await import('../lib/render.ts');
      let loaded;
      try {
        loaded = loadManifests(flags.from);
      } catch (e) {
        process.stderr.write(`sluice: cannot read ${flags.from}: ${(e as Error).message}\n`);
        return 2;
      }
      for (const n of loaded.notes) log.info(n);
      for (const d of loaded.duplicates) log.warn(d);
      const nodeName = checkNodeName(resolveNodeName(loaded.store, config, flags.node));
      for (const chunk of renderStoreChunks(loaded.store, config, nodeName, log)) {
        if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
      }
      return 0;
    }
    case 'run': {
      const config = configFor;
      const nodeName = checkNodeName(flags.node ?? config.hostnameOverride ?? hostname().toLowerCase());
      const period = flags['full-sync-period'];
      const fullSyncPeriodMs = period === undefined ? undefined : parseDuration(period);
      if (period !== undefined && !(fullSyncPeriodMs! > 0)) usageError(`--full-sync-period ${period}: expected a duration greater than 0, such as 10m`);
      // Signals are caught from the start: one that comes while sluice is still starting stops it once started.
      const signalled = new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      const { runProxy } = await import('../lib/run.ts');
      const { localTools } = await import('../lib/migration/exec.ts');
      const proxy = await runProxy({
        config, nodeName, log, from: flags.from, kubeconfig: flags.kubeconfig, logFormat: format,
        watchEndpoints: flags['watch-endpoints'] ?? false, fullSyncPeriodMs,
        kubeProxyLeftovers: { tools: localTools(), remove: flags['cleanup-kube-proxy'] ?? false },
      });
      const signal = await signalled;
      log.info('stopping; the rules stay in place', { signal });
      await proxy.stop();
      return 0;
    }
    case 'diff': {
      const config = configFor;
      const nodeName = checkNodeName(flags.node ?? config.hostnameOverride ?? hostname().toLowerCase());
      const { diffAgainstKernel } = await import('../lib/kernel-diff.ts');
      process.stdout.write(await diffAgainstKernel({ config, nodeName, log, from: flags.from, kubeconfig: flags.kubeconfig }));
      return 0;
    }
    case 'trace': {
      if (!flags.to) usageError('trace needs --to IP:PORT[/PROTO]');
      const config = configFor;
      const nodeName = checkNodeName(flags.node ?? config.hostnameOverride ?? hostname().toLowerCase());
      const { traceCommand } = await import('../lib/trace/command.ts');
      const { TraceInputError } = await import('../lib/trace/packet.ts');
      try {
        process.stdout.write(await traceCommand({ config, nodeName, log, from: flags.from, kubeconfig: flags.kubeconfig, to: flags.to, src: flags.src, via: flags.via, output, kernel: flags.kernel ?? false }));
      } catch (e) {
        if (e instanceof TraceInputError) usageError(e.message);
        throw e;
      }
      return 0;
    }
    case 'services': {
      const config = configFor;
      const nodeName = checkNodeName(flags.node ?? config.hostnameOverride ?? hostname().toLowerCase());
      const { servicesCommand, parseServiceFilter } = await import('../lib/inspect/services-command.ts');
      if (parsed.positionals.length > 1) usageError('services takes at most one NAMESPACE[/NAME]');
      const filter = parseServiceFilter(parsed.positionals[0]);
      if (typeof filter === 'string') usageError(filter);
      process.stdout.write(await servicesCommand({ config, nodeName, log, from: flags.from, kubeconfig: flags.kubeconfig, filter, output }));
      return 0;
    }
    case 'cleanup': {
      if (flags['kube-proxy']) {
        const { cleanupKubeProxy } = await import('../lib/migration/command.ts');
        const { localTools } = await import('../lib/migration/exec.ts');
        return cleanupKubeProxy(localTools(), log);
      }
      const { cleanup } = await import('../lib/run.ts');
      const { execNft } = await import('../lib/nft/runner.ts');
      await cleanup(execNft(), log);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      usageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`sluice: ${e?.stack ?? e}\n`);
  process.exitCode = 1;
});
