#!/usr/bin/env -S node --max-semi-space-size=64
// sluice's command line: parses flags and hands over to lib/; no logic of its own.
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, type ProxyConfig } from '../lib/config/kube-proxy-config.ts';
import { createLogger, type Logger } from '../lib/log.ts';

const USAGE = `usage: sluice <command> [flags]

commands:
  render --from PATH [--config FILE] [--node NAME]
      print the nft script for the Services in PATH (manifest file or folder); touches nothing
  help
      this text

flags:
  --from PATH         manifests: .yaml, .yml or .json files, or a folder of them
  --config FILE       a KubeProxyConfiguration file (kubeproxy.config.k8s.io/v1alpha1)
  --node NAME         this node's name (default: hostnameOverride, the only Node given, or the hostname)
  --log-format FMT    json or text (default: text for render, json for run)
`;

function usageError(message: string): never {
  process.stderr.write(`sluice: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function readConfig(path: string | undefined, log: Logger): ProxyConfig {
  if (!path) return DEFAULT_CONFIG;
  try {
    return loadConfigFile(path, (m) => log.warn(m));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`sluice: invalid configuration: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
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
        'log-format': { type: 'string' },
      },
      strict: true,
    });
  } catch (e) {
    usageError((e as Error).message);
  }
  const flags = parsed.values;
  const format = flags['log-format'] ?? (command === 'render' ? 'text' : 'json');
  if (format !== 'json' && format !== 'text') usageError(`--log-format ${format}: expected json or text`);
  const log = createLogger({ format });

  switch (command) {
    case 'render': {
      if (!flags.from) usageError('render needs --from PATH');
      const config = readConfig(flags.config, log);
      const { loadManifests } = await import('../lib/manifests/load.ts');
      const { renderStore, resolveNodeName } = await import('../lib/render.ts');
      let loaded;
      try {
        loaded = loadManifests(flags.from);
      } catch (e) {
        process.stderr.write(`sluice: cannot read ${flags.from}: ${(e as Error).message}\n`);
        return 2;
      }
      for (const n of loaded.notes) log.info(n);
      for (const d of loaded.duplicates) log.warn(d);
      const script = renderStore(loaded.store, config, resolveNodeName(loaded.store, config, flags.node), log);
      process.stdout.write(script);
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
