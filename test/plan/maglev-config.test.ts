// The configuration's loadBalancing extension (lib/config/load-balancing.ts): defaults, values, errors naming the field.
import { describe, expect, test } from '@jest/globals';
import { parseConfig } from '../../lib/config/kube-proxy-config.ts';
import { DEFAULT_LOAD_BALANCING } from '../../lib/config/load-balancing.ts';

const doc = (loadBalancing: unknown) => ({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', loadBalancing });
const parse = (lb: unknown, warnings: string[] = []) => parseConfig(doc(lb), (m) => warnings.push(m)).loadBalancing;

describe('loadBalancing', () => {
  test('absent: random, 1021 slots, flow hash, external traffic only', () => {
    expect(parse(undefined)).toEqual(DEFAULT_LOAD_BALANCING);
    expect(DEFAULT_LOAD_BALANCING).toEqual({ algorithm: 'random', tableSize: 1021, hash: 'flow', clusterTraffic: false });
  });

  test('every field read', () => {
    expect(parse({ algorithm: 'maglev', tableSize: 4093, hash: 'source', clusterTraffic: true }))
      .toEqual({ algorithm: 'maglev', tableSize: 4093, hash: 'source', clusterTraffic: true });
  });

  test.each([
    [{ algorithm: 'ring' }, 'loadBalancing.algorithm: "ring" is not random or maglev'],
    [{ tableSize: 1000 }, 'loadBalancing.tableSize: 1000 is not a prime'],
    [{ tableSize: 5 }, 'loadBalancing.tableSize: 5 is not a prime from 7'],
    [{ tableSize: 65537 }, 'loadBalancing.tableSize: 65537 is not a prime from 7 to 65521'],
    [{ tableSize: '1021' }, 'loadBalancing.tableSize: "1021" is not a prime'],
    [{ hash: 'tuple' }, 'loadBalancing.hash: "tuple" is not flow or source'],
    [{ clusterTraffic: 'yes' }, 'loadBalancing.clusterTraffic: "yes" is not true or false'],
    [[1], 'loadBalancing: is not an object'],
  ])('%j is an error naming the field', (lb, message) => {
    expect(() => parse(lb)).toThrow(message);
  });

  test('an unknown field is warned about', () => {
    const warnings: string[] = [];
    parse({ seed: 1 }, warnings);
    expect(warnings).toEqual(['config: unknown field loadBalancing.seed ignored']);
  });
});
