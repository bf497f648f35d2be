// What every stage of the benchmark shares: where the repo and the scratch folder are, how to run
// sluice, how to report progress, and the namespaces it creates (all named "<prefix>-…").
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addNamespaces, deleteNamespaces } from '../lab/netns.ts';
import { onCleanup } from './proc.ts';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const NODE = join(REPO, 'node_modules', '.bin', 'node');
export const SLUICE = join(REPO, 'cmd', 'sluice.ts');

export interface BenchContext {
  /** bench/out by default: synthetic clusters, rendered scripts, logs (git-ignored) */
  workDir: string;
  /** namespace prefix of this run: "sb" and six hex digits, distinct from any lab's */
  prefix: string;
  progress(message: string): void;
}

export function createContext(workDir: string, prefix: string): BenchContext {
  mkdirSync(workDir, { recursive: true });
  const t0 = Date.now();
  return {
    workDir,
    prefix,
    progress(message) {
      const s = Math.round((Date.now() - t0) / 1000);
      process.stderr.write(`[bench ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${message}\n`);
    },
  };
}

/**
 * The node flags the script's `#!/usr/bin/env -S node FLAGS` line gives it: how `npx sluice` and the
 * DaemonSet's image (the same flags in its ENTRYPOINT) run sluice, as opposed to `node cmd/sluice.ts`.
 */
export function shebangFlags(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0];
  const m = /^#!.*\bnode((?:\s+-\S+)*)\s*$/.exec(first);
  return m ? m[1].trim().split(/\s+/).filter((f) => f !== '') : [];
}

/** The KubeProxyConfiguration every stage uses. */
export function writeBenchConfig(ctx: BenchContext): string {
  const path = join(ctx.workDir, 'kube-proxy-config.yaml');
  writeFileSync(path, [
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    'kind: KubeProxyConfiguration',
    'mode: nftables',
    'clusterCIDR: 10.128.0.0/9,fd00:128::/48',
    'hostnameOverride: node1',
    '',
  ].join('\n'));
  return path;
}

/** A fresh, empty network namespace, deleted by the returned function (and by the clean-up). */
export async function freshNamespace(ctx: BenchContext, role: string): Promise<{ ns: string; remove: () => Promise<void> }> {
  const ns = `${ctx.prefix}-${role}`;
  await deleteNamespaces([ns]);
  await addNamespaces([ns]);
  const unregister = onCleanup(() => deleteNamespaces([ns]));
  return {
    ns,
    remove: async () => {
      unregister();
      await deleteNamespaces([ns]);
    },
  };
}
