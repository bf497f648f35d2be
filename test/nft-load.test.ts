// Every golden script meets the real nft: it loads into a network namespace with none of sluice's
// tables, loads again over itself, and leaves other software's tables alone.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './support/render-case.ts';
import { nftAvailable, withNetns } from './support/netns.ts';

const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const available = nftAvailable();
const maybe = available.ok ? describe : describe.skip;
if (!available.ok) console.warn(`skipping nft load tests: ${available.reason}`);

const OTHER_TABLE = 'table inet firewall {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 22 accept\n\t}\n}\n';

maybe('golden scripts load with nft', () => {
  test.each(cases)('%s loads, reloads, and leaves other tables alone', (name) => {
    const script = readFileSync(join(FIXTURES, name, 'expected.nft'), 'utf8');
    withNetns((nft) => {
      nft(['-f', '-'], OTHER_TABLE);
      nft(['-f', '-'], script);
      const first = nft(['list', 'ruleset']);
      nft(['-f', '-'], script);
      const second = nft(['list', 'ruleset']);
      expect(second).toBe(first);
      expect(second).toContain('table inet firewall');
      expect(second).toContain('tcp dport 22 accept');
      expect(second).toContain('table ip sluice');
      expect(second).toContain('table ip6 sluice');
    });
  });
});

test('a script that nft rejects changes nothing (one transaction)', () => {
  if (!available.ok) return;
  const script = readFileSync(join(FIXTURES, 'my-service', 'expected.nft'), 'utf8');
  withNetns((nft) => {
    nft(['-f', '-'], script);
    const before = nft(['list', 'ruleset']);
    const broken = script.replace('delete table ip sluice\n', 'delete table ip sluice\nadd rule ip sluice no-such-chain accept\n');
    expect(() => nft(['-f', '-'], broken)).toThrow();
    expect(nft(['list', 'ruleset'])).toBe(before);
  });
});
