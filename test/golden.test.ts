// Golden files: each rules-fixtures/<case>/ holds manifests/, an optional config.yaml, the expected
// script (expected.nft) and the expected warnings (warnings.txt). `make golden` (UPDATE_GOLDEN=1)
// rewrites the expectations from the current renderer; review that diff like code.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, renderCase } from './support/render-case.ts';

const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

test('there are golden cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(8);
});

describe.each(cases)('rules-fixtures/%s', (name) => {
  const dir = join(FIXTURES, name);
  const { script, warnings } = renderCase(dir);
  const warningsText = warnings.map((w) => w + '\n').join('');
  if (update) {
    writeFileSync(join(dir, 'expected.nft'), script);
    writeFileSync(join(dir, 'warnings.txt'), warningsText);
  }

  test('renders the expected script', () => {
    expect(script).toBe(readFileSync(join(dir, 'expected.nft'), 'utf8'));
  });

  test('says the expected warnings', () => {
    const file = join(dir, 'warnings.txt');
    expect(warningsText).toBe(existsSync(file) ? readFileSync(file, 'utf8') : '');
  });

  test('renders the same bytes twice', () => {
    expect(renderCase(dir).script).toBe(script);
  });
});
