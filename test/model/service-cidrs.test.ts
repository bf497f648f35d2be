// The model's service CIDRs: ServiceCIDR objects (validated, each invalid one skipped with a warning),
// or where there is no valid one, the configuration's serviceCIDRs; both families, once each, sorted.
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../lib/config/kube-proxy-config.ts';
import type { KubeObject } from '../../lib/objects/objects.ts';
import { loadManifests } from '../../lib/manifests/load.ts';
import { buildModel } from '../../lib/model/build.ts';
import { parseCIDR, type ParsedCIDR } from '../../lib/model/ip.ts';
import { InvalidObject } from '../../lib/model/problems.ts';
import { readServiceCIDR, sortCIDRs } from '../../lib/model/service-cidr.ts';

const serviceCIDR = (name: unknown, cidrs: unknown, extra: Partial<KubeObject> = {}): KubeObject =>
  ({ kind: 'ServiceCIDR', metadata: { name }, spec: { cidrs }, ...extra });

const cidrs = (...texts: string[]): ParsedCIDR[] => texts.map((t) => parseCIDR(t)!);

const model = (objects: KubeObject[], config: ParsedCIDR[] = []) =>
  buildModel({ services: [], endpointSlices: [], endpoints: [], nodes: [], serviceCIDRs: objects }, 'node1', { configServiceCIDRs: config });

function thrown(f: () => unknown): InvalidObject | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof InvalidObject) return e;
    throw e;
  }
  return undefined;
}

describe('readServiceCIDR', () => {
  test('reads one CIDR or one per family, in canonical form (host bits cleared, IPv6 compressed)', () => {
    expect(readServiceCIDR(serviceCIDR('kubernetes', ['10.96.0.0/12'])).map((c) => c.cidr)).toEqual(['10.96.0.0/12']);
    expect(readServiceCIDR(serviceCIDR('dual', ['10.96.1.7/16', 'FD00:0096:0:0::/112'])).map((c) => c.cidr)).toEqual(['10.96.0.0/16', 'fd00:96::/112']);
  });

  test.each([
    ['no cidrs', serviceCIDR('a', []), 'invalid-cidrs', 'spec.cidrs is empty'],
    ['cidrs not a list', serviceCIDR('a', '10.96.0.0/12'), 'invalid-cidrs', 'spec.cidrs is empty'],
    ['no spec', { kind: 'ServiceCIDR', metadata: { name: 'a' } } as KubeObject, 'invalid-cidrs', 'spec.cidrs is empty'],
    ['three cidrs', serviceCIDR('a', ['10.96.0.0/16', 'fd00::/112', '10.97.0.0/16']), 'invalid-cidrs', 'spec.cidrs has more than two CIDRs'],
    ['two of one family', serviceCIDR('a', ['10.96.0.0/16', '10.97.0.0/16']), 'invalid-cidrs', 'spec.cidrs has two CIDRs of one IP family'],
    ['a bad CIDR', serviceCIDR('a', ['10.96.0.0/16', 'fd00::/129']), 'invalid-cidr', 'spec.cidrs[1] "fd00::/129" is not a CIDR'],
    ['an address without a prefix', serviceCIDR('a', ['10.96.0.1']), 'invalid-cidr', 'spec.cidrs[0] "10.96.0.1" is not a CIDR'],
    ['nft text in a CIDR', serviceCIDR('a', ['10.96.0.0/16 }; flush ruleset']), 'invalid-cidr', 'spec.cidrs[0] "10.96.0.0/16 }; flush ruleset" is not a CIDR'],
    ['a bad name', serviceCIDR('Bad Name', ['10.96.0.0/16']), 'invalid-name', 'metadata.name "Bad Name" is not a valid object name'],
  ])('refuses %s', (_what, obj, reason, message) => {
    const e = thrown(() => readServiceCIDR(obj));
    expect(e?.reason).toBe(reason);
    expect(e?.message).toBe(message);
  });
});

describe('sortCIDRs', () => {
  test('IPv4 before IPv6, by address numerically, the wider first, each once', () => {
    expect(sortCIDRs(cidrs('fd00::/64', '10.100.0.0/16', '10.96.0.0/16', '9.0.0.0/8', '10.96.0.0/12', '10.100.0.0/16', '::/0')))
      .toEqual(['9.0.0.0/8', '10.96.0.0/12', '10.96.0.0/16', '10.100.0.0/16', '::/0', 'fd00::/64']);
  });
});

describe('buildModel serviceCIDRs', () => {
  test('are every ServiceCIDR\'s cidrs, whatever its status or deletion (as kube-proxy), deduplicated and sorted', () => {
    const m = model([
      serviceCIDR('kubernetes', ['fd00:96::/112', '10.96.0.0/16']),
      serviceCIDR('more', ['10.200.0.0/16'], { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Terminating' }] } }),
      { ...serviceCIDR('going', ['10.96.0.0/16']), metadata: { name: 'going', deletionTimestamp: '2026-01-01T00:00:00Z' } },
    ]);
    expect(m.serviceCIDRs).toEqual(['10.96.0.0/16', '10.200.0.0/16', 'fd00:96::/112']);
    expect(m.problems).toEqual([]);
  });

  test('skip an invalid ServiceCIDR with a warning naming it, and keep the others', () => {
    const m = model([serviceCIDR('bad', ['10.96.0.0/33']), serviceCIDR('good', ['10.97.0.0/16'])]);
    expect(m.serviceCIDRs).toEqual(['10.97.0.0/16']);
    expect(m.problems).toEqual([{ kind: 'ServiceCIDR', object: 'bad', reason: 'invalid-cidr', message: 'spec.cidrs[0] "10.96.0.0/33" is not a CIDR' }]);
  });

  test('come from the configuration where there is no valid ServiceCIDR, and only then', () => {
    const config = cidrs('fd00:96::/108', '10.96.0.0/12');
    expect(model([], config).serviceCIDRs).toEqual(['10.96.0.0/12', 'fd00:96::/108']);
    expect(model([serviceCIDR('bad', [])], config).serviceCIDRs).toEqual(['10.96.0.0/12', 'fd00:96::/108']);
    expect(model([serviceCIDR('kubernetes', ['10.43.0.0/16'])], config).serviceCIDRs).toEqual(['10.43.0.0/16']);
  });

  test('are empty with neither objects nor configuration, also for callers that pass no ServiceCIDRs', () => {
    expect(model([]).serviceCIDRs).toEqual([]);
    expect(buildModel({ services: [], endpointSlices: [], endpoints: [], nodes: [] }, 'node1').serviceCIDRs).toEqual([]);
  });
});

describe('ServiceCIDRs in manifests', () => {
  let dir: string | undefined;
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); dir = undefined; });

  test('are read from a --from folder (networking.k8s.io/v1 only) into the model', () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-cidrs-'));
    writeFileSync(join(dir, 'cidrs.yaml'), [
      'apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata: { name: kubernetes }\nspec: { cidrs: [10.96.0.0/16, "fd00:96::/112"] }',
      'apiVersion: networking.k8s.io/v1beta1\nkind: ServiceCIDR\nmetadata: { name: beta }\nspec: { cidrs: [10.55.0.0/16] }',
      'apiVersion: v1\nkind: List\nitems:\n  - { apiVersion: networking.k8s.io/v1, kind: ServiceCIDR, metadata: { name: extra }, spec: { cidrs: [10.97.0.0/16] } }',
    ].join('\n---\n'));
    const { store, notes } = loadManifests(dir);
    expect(store.isSynced('ServiceCIDR')).toBe(true);
    expect(store.count('ServiceCIDR')).toBe(2);
    expect(notes).toEqual([expect.stringContaining('ignored ServiceCIDR of apiVersion "networking.k8s.io/v1beta1"')]);
    expect(buildModel(store.objects(), 'node1').serviceCIDRs).toEqual(['10.96.0.0/16', '10.97.0.0/16', 'fd00:96::/112']);
  });
});

describe('KubeProxyConfiguration serviceCIDRs (a sluice extension)', () => {
  const parse = (extra: Record<string, unknown>) => {
    const warnings: string[] = [];
    const config = parseConfig({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', ...extra }, (w) => warnings.push(w));
    return { config, warnings };
  };
  const error = (extra: Record<string, unknown>) => {
    try {
      parse(extra);
    } catch (e) {
      if (e instanceof ConfigError) return { field: e.field, message: e.message };
      throw e;
    }
    return undefined;
  };

  test('is read without a warning, both families, canonical', () => {
    const { config, warnings } = parse({ serviceCIDRs: ['10.96.0.1/12', 'fd00:96::/108', '10.200.0.0/16'] });
    expect(config.serviceCIDRs.map((c) => c.cidr)).toEqual(['10.96.0.0/12', 'fd00:96::/108', '10.200.0.0/16']);
    expect(warnings).toEqual([]);
  });

  test('is empty when absent or null', () => {
    expect(parse({}).config.serviceCIDRs).toEqual([]);
    expect(parse({ serviceCIDRs: null }).config.serviceCIDRs).toEqual([]);
  });

  test.each([
    [{ serviceCIDRs: '10.96.0.0/12' }, 'serviceCIDRs', 'serviceCIDRs: is not a list'],
    [{ serviceCIDRs: ['10.96.0.0/12', '10.96.0.0'] }, 'serviceCIDRs[1]', 'serviceCIDRs[1]: "10.96.0.0" is not a CIDR'],
    [{ serviceCIDRs: [12] }, 'serviceCIDRs[0]', 'serviceCIDRs[0]: 12 is not a CIDR'],
  ])('a bad value is an error naming the field: %j', (extra, field, message) => {
    expect(error(extra)).toEqual({ field, message });
  });
});
