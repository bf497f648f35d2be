// Runs one sequence of cluster changes through the real SyncLoop into the kernel and checks, after
// every step, that nft took the transaction, that it was partial (full only where a full sync is
// due), that the tables equal a fresh load of the same state, and that ClientIP affinity entries
// outlived the sync. Time is a FakeClock: nothing waits for real time but nft itself.
import { parseConfig, type ProxyConfig } from '../../lib/config/kube-proxy-config.ts';
import type { ObjectKind } from '../../lib/objects/objects.ts';
import { recordingLogger } from '../../lib/log.ts';
import { ObjectStore } from '../../lib/objects/store.ts';
import { execNft, NftError } from '../../lib/nft/runner.ts';
import { renderRuleset } from '../../lib/nft/templates.ts';
import { planFromStore } from '../../lib/render.ts';
import { FULL_SYNC_PERIOD_MS, SyncLoop, type SyncOutcome } from '../../lib/sync/sync-loop.ts';
import { FakeClock } from '../sync/fake-clock.ts';
import { applyChange, configDocument, NODE, objectsOf, type ClusterState, type ConfigSpec, type Sequence, type Step } from './cluster.ts';
import { affinitySets, listingDifference, probeScript, withoutAffinityElements, type AffinitySetInfo } from './compare.ts';
import { configText, stateText, stepText } from './describe.ts';
import type { FreshLoader, Listing, Netns } from './netns.ts';

export interface Kernels {
  /** Where the SyncLoop writes. */
  kernel: Netns;
  /** Where fresh loads are made. */
  fresh: FreshLoader;
}

export interface RunOptions {
  /** Changes what the comparison sees as the kernel's listing: only for proving the check can fail. */
  tamper?: (listing: Listing, step: number) => Listing;
}

export class TransitionFailure extends Error {}

const KINDS: ObjectKind[] = ['Service', 'EndpointSlice', 'Endpoints', 'Node'];

export function configOf(c: ConfigSpec): ProxyConfig {
  return parseConfig(configDocument(c), (w) => { throw new Error(`config warning: ${w}`); });
}

function outcomeText(o: SyncOutcome): string {
  let s = `${o.kind} sync, ${o.ok ? 'ok' : 'REFUSED'}, ${o.lines} lines`;
  if (o.error instanceof NftError) {
    s += `\n  nft: ${o.error.message}`;
    for (const l of o.error.lines.slice(0, 5)) s += `\n  line ${l.line}: ${l.message}: ${l.text}`;
  } else if (o.error) {
    s += `\n  error: ${o.error.message}`;
  }
  return s;
}

export async function runSequence(seq: Sequence, k: Kernels, opts: RunOptions = {}): Promise<void> {
  await k.kernel.flush();
  let state: ClusterState = seq.initial;
  let config = configOf(seq.config);
  const store = new ObjectStore();
  let objects = objectsOf(state);
  for (const o of objects.values()) store.upsert(o);
  for (const kind of KINDS) store.synced(kind);

  const clock = new FakeClock();
  const log = recordingLogger();
  const outcomes: SyncOutcome[] = [];
  const nft = execNft({ nft: k.kernel.nftPath });
  const newLoop = () => new SyncLoop({
    store, config, nodeName: NODE, nft, log, clock, fullSyncPeriodMs: FULL_SYNC_PERIOD_MS, onSync: (o) => outcomes.push(o),
  });
  if (config.syncPeriodMs !== FULL_SYNC_PERIOD_MS) throw new Error('the test expects syncPeriod to be the full sync period (an hour)');
  let loop = newLoop();
  const history = [`config ${configText(seq.config)}`, ...stateText(state).map((l) => `start: ${l}`)];
  const expectedScript = () => renderRuleset(planFromStore(store, config, NODE).ruleset);
  // What a fresh load of the last state lists: the rules changed when that listing does (a script's
  // text can change without its rules, e.g. elements in another order).
  let lastFresh: Awaited<ReturnType<typeof k.fresh.listingOf>> | undefined;
  let lastKernel: Listing = {};

  const fail = (step: number, problems: string[], sent: SyncOutcome[]): never => {
    const scripts = sent.filter((o) => o.script).map((o) => {
      const lines = o.script!.split('\n');
      return `transaction sent (${lines.length - 1} lines):\n${lines.slice(0, 80).map((l, i) => `  ${String(i + 1).padStart(3)} ${l}`).join('\n')}`;
    });
    throw new TransitionFailure([
      `step ${step} of the sequence failed:`, ...problems.map((p) => `- ${p}`),
      'sequence:', ...history.map((h, i) => `  ${i === history.length - 1 ? '>' : ' '} ${h}`), ...scripts,
    ].join('\n'));
  };

  /** After a sync: what the loop reported, and the kernel against a fresh load. */
  const check = async (step: number, expected: 'full' | 'partial', probed: Map<string, AffinitySetInfo>) => {
    const sent = outcomes.splice(0);
    const script = expectedScript();
    const problems: string[] = [];
    const [rawKernel, fresh] = await Promise.all([k.kernel.listing(), k.fresh.listingOf(script)]);
    const changed = expected === 'full' || !lastFresh || listingDifference(fresh, lastFresh).length > 0;
    if (!changed && sent.length > 0) problems.push(`nothing changed, yet the loop sent: ${sent.map(outcomeText).join('; ')}`);
    if (changed && sent.length !== 1) problems.push(`expected one ${expected} sync, got ${sent.length}: ${sent.map(outcomeText).join('; ') || 'none'}`);
    for (const o of sent) {
      if (!o.ok) problems.push(`nft refused the transaction: ${outcomeText(o)}`);
      else if (o.kind !== expected) problems.push(`expected a ${expected} sync, got ${outcomeText(o)}`);
    }
    const { listing, probed: holding, strays } = withoutAffinityElements(rawKernel);
    const kernel = opts.tamper ? opts.tamper(listing, step) : listing;
    const diff = listingDifference(kernel, fresh);
    if (diff.length) problems.push(`the kernel's tables differ from a fresh load of the same state:\n${diff.join('\n')}`);
    for (const s of strays) problems.push(`an affinity set holds an element nobody added: ${s}`);
    const freshSets = affinitySets(fresh);
    for (const [key, before] of probed) {
      const now = freshSets.get(key);
      if (now && now.timeout === before.timeout && !holding.has(key)) {
        problems.push(`ClientIP affinity entry lost: ${before.family} ${before.name} still exists (timeout ${String(now.timeout)}s) but no longer holds client ${before.family === 'ip' ? '10.0.0.9' : 'fd00::9'} (after a ${expected} sync)`);
      }
    }
    if (problems.length) fail(step, problems, sent);
    lastFresh = fresh;
    lastKernel = rawKernel;
  };

  loop.start();
  await clock.advance(0);
  await loop.idle();
  await check(0, 'full', new Map());

  try {
    for (const [i, step] of seq.steps.entries()) {
      history.push(`step ${i + 1}: ${stepText(step)}`);
      // A client of each affinity set, as if it had connected.
      const probed = affinitySets(lastKernel);
      if (probed.size) await k.kernel.nft(['-f', '-'], probeScript(probed.values()));
      const expected = await apply(step);
      await check(i + 1, expected, probed);
    }
  } finally {
    await loop.stop();
  }

  async function apply(step: Step): Promise<'full' | 'partial'> {
    if ('config' in step) {
      // A new configuration reaches sluice by a restart: a new loop, over the same kernel.
      await loop.stop();
      config = configOf(step.config);
      loop = newLoop();
      loop.start();
      await clock.advance(0);
      await loop.idle();
      return 'full';
    }
    if ('hour' in step) {
      // The periodic check an hour after the last full sync finds the full sync due.
      const pending = clock.pending();
      if (pending.length !== 1) throw new Error(`expected only the periodic timer, found timers due in ${pending.join(', ')} ms`);
      await clock.advance(pending[0]);
      await loop.idle();
      return 'full';
    }
    for (const c of step.changes) state = applyChange(state, c);
    const now = objectsOf(state);
    for (const [key, o] of objects) if (!now.has(key)) store.remove(o.kind, key.slice(key.indexOf(' ') + 1));
    for (const [key, o] of now) if (JSON.stringify(objects.get(key)) !== JSON.stringify(o)) store.upsert(o);
    objects = now;
    await clock.advance(config.minSyncPeriodMs);
    await loop.idle();
    return 'partial';
  }
}
