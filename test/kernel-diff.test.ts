// `sluice diff` against a real kernel table: for pairs of golden rulesets, the printed transaction,
// applied to a namespace holding the first, leaves what loading the second leaves.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG, loadConfigFile, parseConfig } from '../lib/config/kube-proxy-config.ts';
import { kernelDiff, type NftExec } from '../lib/kernel-diff.ts';
import { loadManifests } from '../lib/manifests/load.ts';
import type { Ruleset } from '../lib/nft/ir.ts';
import { renderRuleset } from '../lib/nft/templates.ts';
import { planFromStore, resolveNodeName } from '../lib/render.ts';
import { nftAvailable, withNetns } from './support/netns.ts';
import { normalizeListing } from './support/nft-json.ts';
import { FIXTURES } from './support/render-case.ts';

const config = parseConfig({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.244.0.0/16,fd00:244::/32' }, () => {});
const rulesetOf = (c: string): Ruleset => planFromStore(loadManifests(join(FIXTURES, c, 'manifests')).store, config, 'node1').ruleset;
const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

const available = nftAvailable();
const maybe = available.ok ? test : test.skip;

async function kernelAfter(from: Ruleset, to: Ruleset, tamper?: (nft: (a: string[], i?: string) => string) => void) {
  let result: { kind: string; script: string; listing: unknown } | undefined;
  await new Promise<void>((done, fail) => {
    const ns = `sltest-kd-${Math.random().toString(16).slice(2, 8)}`;
    execFileSync('ip', ['netns', 'add', ns]);
    const nft = (args: string[], input?: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
    const exec: NftExec = async (args, input) => nft(args, input);
    (async () => {
      nft(['-f', '-'], renderRuleset(from));
      tamper?.(nft);
      const r = await kernelDiff(to, exec);
      if (r.script) nft(['-f', '-'], r.script);
      result = { kind: r.kind, script: r.script, listing: normalizeListing(nft(['-j', 'list', 'ruleset'])) };
    })().then(done, fail).finally(() => execFileSync('ip', ['netns', 'delete', ns]));
  });
  return result!;
}

function fullListing(r: Ruleset) {
  return withNetns((nft) => { nft(['-f', '-'], renderRuleset(r)); return normalizeListing(nft(['-j', 'list', 'ruleset'])); });
}

const pairs = [['my-service', 'lab-cluster'], ['lab-cluster', 'my-service'], ['affinity', 'dual-stack'], ['traffic-policy', 'no-rules'], ['lab-cluster', 'affinity']] as const;

maybe.each(pairs)('%s -> %s: the printed transaction leaves the wanted rules', async (a, b) => {
  const r = await kernelAfter(rulesetOf(a), rulesetOf(b));
  expect(r.kind).toBe('partial');
  expect(r.script).not.toContain('delete table');
  expect(r.listing).toEqual(fullListing(rulesetOf(b)));
});

maybe('rules that are already right give an empty diff', async () => {
  for (const c of ['lab-cluster', 'dual-stack', 'affinity']) {
    const r = await kernelAfter(rulesetOf(c), rulesetOf(c));
    expect({ c, script: r.script }).toEqual({ c, script: '' });
  }
});

/** A golden case planned with its own configuration, as `sluice render` plans it. */
function caseRuleset(c: string): Ruleset {
  const dir = join(FIXTURES, c);
  const file = join(dir, 'config.yaml');
  const cfg = existsSync(file) ? loadConfigFile(file, () => {}) : DEFAULT_CONFIG;
  const store = loadManifests(join(dir, 'manifests')).store;
  return planFromStore(store, cfg, resolveNodeName(store, cfg)).ruleset;
}

maybe.each(cases)('%s, with its own configuration, read back from the kernel is its plan, rule for rule: nothing to send', async (c) => {
  const want = caseRuleset(c);
  const r = await kernelAfter(want, want);
  expect(r.script).toBe('');
});

maybe('a chain deleted or changed by hand shows up as the lines that put it back', async () => {
  const want = rulesetOf('lab-cluster');
  const r = await kernelAfter(want, want, (nft) => {
    nft(['-f', '-'], 'delete element ip sluice service-ips { 10.96.0.4 . tcp . 80 }\nflush chain ip sluice svc/lab/conditions/tcp/80\ndelete chain ip sluice svc/lab/conditions/tcp/80\nflush chain ip sluice svc/lab/spread/tcp/80\n');
  });
  expect(r.script).toContain('add chain ip sluice svc/lab/conditions/tcp/80');
  expect(r.script).toContain('flush chain ip sluice svc/lab/spread/tcp/80');
  expect(r.script).toContain('add element ip sluice service-ips { 10.96.0.4 . tcp . 80 : goto svc/lab/conditions/tcp/80 }');
  expect(r.listing).toEqual(fullListing(want));
});

maybe('no sluice table in the kernel: the diff is the whole script', async () => {
  const want = rulesetOf('my-service');
  const r = await kernelAfter(want, want, (nft) => nft(['delete', 'table', 'ip', 'sluice']));
  expect(r.kind).toBe('full');
  expect(r.script).toBe(renderRuleset(want));
});
