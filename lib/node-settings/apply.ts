// When `sluice run` applies the node settings: once at start, before the first sync (as kube-proxy,
// before its proxier starts). nf_conntrack may not be loaded yet on a fresh node: its sysctls do not
// exist until a rule first uses conntrack, which sluice's first ruleset does; what was missing is
// applied once more after that sync.
import type { ConntrackConfig } from '../config/conntrack.ts';
import type { Logger } from '../log.ts';
import { applyConntrackSettings, NodeSettingsError } from './conntrack.ts';
import type { NodeFiles } from './files.ts';

export interface NodeSettings {
  /** Call after each successful sync; does something only the first time, and only if files were missing. */
  synced(): void;
}

/** Throws NodeSettingsError when a setting cannot be written at start. */
export function startNodeSettings(c: ConntrackConfig, files: NodeFiles, log: Logger): NodeSettings {
  let missing = applyConntrackSettings(c, files, log).missing;
  if (missing.length > 0) log.info('conntrack settings wait for nf_conntrack, which the first sync loads', { missing });
  return {
    synced() {
      if (missing.length === 0) return;
      const before = missing;
      missing = [];
      try {
        const still = applyConntrackSettings(c, files, log).missing;
        if (still.length > 0) log.warn('conntrack settings not applied: nf_conntrack is not loaded', { missing: still });
      } catch (e) {
        if (!(e instanceof NodeSettingsError)) throw e;
        log.error('cannot apply conntrack settings', { error: e.message, missing: before });
      }
    },
  };
}
