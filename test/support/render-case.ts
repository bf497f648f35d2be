// Renders a rules-fixtures case through the library, as `sluice render` would.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG, loadConfigFile } from '../../lib/config/kube-proxy-config.ts';
import { recordingLogger } from '../../lib/log.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import { renderStore, resolveNodeName } from '../../lib/render.ts';

export const FIXTURES = new URL('../../rules-fixtures/', import.meta.url).pathname;

export function renderCase(dir: string): { script: string; warnings: string[] } {
  const log = recordingLogger();
  const configFile = join(dir, 'config.yaml');
  const config = existsSync(configFile) ? loadConfigFile(configFile, (m) => log.warn(m)) : DEFAULT_CONFIG;
  const loaded = loadManifests(join(dir, 'manifests'));
  for (const n of loaded.notes) log.info(n);
  for (const d of loaded.duplicates) log.warn(d);
  const script = renderStore(loaded.store, config, resolveNodeName(loaded.store, config), log);
  const warnings = log.lines.filter((l) => l.level !== 'debug').map((l) => `${l.level}: ${l.msg}`.replaceAll(dir, '<case>'));
  return { script, warnings };
}
