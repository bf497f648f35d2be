// Network namespaces by name, and the clean-up of every namespace a lab prefix owns.
import { run, runOk } from './run.ts';

/** Lab prefixes are short and plain so "<prefix>-<role>" can never match a namespace not ours. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,11}$/;

export async function listNamespaces(): Promise<string[]> {
  const out = await runOk('ip', ['netns', 'list']);
  return out.split('\n').map((line) => line.split(' ')[0]).filter((name) => name !== '');
}

export async function addNamespaces(names: string[]): Promise<void> {
  if (names.length) await runOk('ip', ['-batch', '-'], { input: names.map((n) => `netns add ${n}\n`).join('') });
}

/** Kills what still runs in the namespaces (by pid), then deletes them; missing ones are fine. */
export async function deleteNamespaces(names: string[]): Promise<void> {
  const pids = new Set<number>();
  for (const r of await Promise.all(names.map((n) => run('ip', ['netns', 'pids', n])))) {
    for (const p of r.stdout.split('\n')) if (/^\d+$/.test(p)) pids.add(Number(p));
  }
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  // -force: go on past a namespace that is already gone.
  if (names.length) await run('ip', ['-force', '-batch', '-'], { input: names.map((n) => `netns del ${n}\n`).join('') });
}

/** Deletes every namespace named "<prefix>-…", e.g. what a killed test run left behind. */
export async function destroyLab(prefix: string): Promise<void> {
  if (!PREFIX_PATTERN.test(prefix)) throw new Error(`not a lab prefix: ${JSON.stringify(prefix)}`);
  const ours = (await listNamespaces()).filter((n) => n.startsWith(`${prefix}-`));
  await deleteNamespaces(ours);
}
