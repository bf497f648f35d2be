// `make demo` end to end: runs cmd/demo.ts (the entry `make demo` runs) as a child process and reads
// its tables. The live run needs root, nft and ip; the dry run is checked as an unprivileged user.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readExample, EXAMPLE_DIR } from '../../demo/example.ts';
import { labAvailable } from '../../lab/lab.ts';
import { run } from '../../lab/run.ts';
import { nodeBinary } from '../../lab/scripts.ts';

const DEMO = fileURLToPath(new URL('../../cmd/demo.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_TIMEOUT_MS = 50_000;

interface Row { backend: string; node: string; endpoint: string; answers: number; sources: string }
interface Table { target: string; rows: Row[] }
interface Section { title: string; lines: string[]; tables: Table[] }

/** The output's "== title" sections, each with its "-> target" tables. */
function sections(stdout: string): Section[] {
  const out: Section[] = [];
  let table: Table | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('== ')) {
      out.push({ title: line.slice(3), lines: [], tables: [] });
      table = undefined;
      continue;
    }
    const s = out.at(-1);
    if (!s) continue;
    s.lines.push(line);
    const target = /^ {2}-> (.*)$/.exec(line);
    if (target) {
      table = { target: target[1], rows: [] };
      s.tables.push(table);
    } else if (table && line.startsWith('     ') && !line.trim().startsWith('backend ')) {
      const [backend, ...cells] = line.trim().split(/\s{2,}/);
      if (backend === '(no answer)') table.rows.push({ backend, node: '', endpoint: '', answers: Number(cells[0]), sources: cells[1] ?? '' });
      else table.rows.push({ backend, node: cells[0], endpoint: cells[1], answers: Number(cells[2]), sources: cells[3] });
    } else if (!line.startsWith('     ')) {
      table = undefined;
    }
  }
  return out;
}

function section(all: Section[], start: string): Section {
  const s = all.find((x) => x.title.startsWith(start));
  if (!s) throw new Error(`no section "${start}..." in the demo's output: ${all.map((x) => x.title).join(' | ')}`);
  return s;
}

/** backend -> answers, for the backends that answered. */
function answered(t: Table): Record<string, number> {
  return Object.fromEntries(t.rows.filter((r) => r.answers > 0).map((r) => [r.backend, r.answers]));
}

function total(t: Table): number {
  return t.rows.reduce((n, r) => n + r.answers, 0);
}

const available = await labAvailable();
const live = available.ok ? test : test.skip;

test('the example is the one these expectations are about', () => {
  const ex = readExample(EXAMPLE_DIR);
  const pods = (name: string) => ex.services.get(name)?.endpoints.map((e) => `${e.pod}@${e.node}`);
  expect(pods('my-service')).toEqual(['myapp-1@node1', 'myapp-2@node1', 'myapp-3@node2']);
  expect(pods('edge')).toEqual(['myapp-1@node1', 'myapp-3@node2']);
  expect(ex.services.get('edge')?.externalPolicyLocal).toBe(true);
  expect(ex.services.get('sticky')?.affinity).toBe(true);
  expect(ex.extraRoutes).toEqual(['146.148.47.155/32']);
});

live(`make demo: traffic tables, live scaling and a not-ready pod${available.ok ? '' : ` (skipped: ${available.reason})`}`, async () => {
  const r = await run(nodeBinary(), [DEMO], { timeoutMs: DEMO_TIMEOUT_MS });
  if (r.exitCode !== 0) throw new Error(`demo exited ${r.exitCode}:\n${r.stderr}\n${r.stdout.slice(-3000)}`);
  expect(r.stderr).not.toMatch(/fail|error/i);
  const all = sections(r.stdout);

  // my-service: all three pods answer at each of its addresses; the client's source is masqueraded.
  const mine = section(all, 'my-service');
  expect(mine.tables.map((t) => t.target)).toEqual(['cluster IP 10.96.0.10:80', 'node port 172.30.0.1:30061', 'load balancer 146.148.47.155:80']);
  for (const t of mine.tables) {
    expect({ target: t.target, backends: Object.keys(answered(t)).sort(), total: total(t) })
      .toEqual({ target: t.target, backends: ['myapp-1', 'myapp-2', 'myapp-3'], total: 100 });
    for (const row of t.rows) expect(row.sources).not.toContain('172.30.0.100');
  }

  // externalTrafficPolicy Local: only node1's pod, and it sees the client's address.
  const [edge] = section(all, 'edge').tables;
  expect(edge.target).toBe('node port 172.30.0.1:30062');
  expect(answered(edge)).toEqual({ 'myapp-1': 100 });
  expect(edge.rows.find((x) => x.backend === 'myapp-1')?.sources).toBe('172.30.0.100');

  // ClientIP affinity: one pod gets every connection.
  const [sticky] = section(all, 'sticky').tables;
  expect(Object.values(answered(sticky))).toEqual([100]);

  // Scaled to five: a partial transaction, then every one of the five answers.
  const scaled = section(all, 'Scale my-service');
  expect(scaled.lines.some((l) => /sent a partial transaction: \d+ lines/.test(l))).toBe(true);
  const grown = scaled.lines.filter((l) => l.startsWith('    | ')).join('\n');
  expect(grown).toContain('10.244.2.12');
  expect(grown).toContain('10.244.1.13');
  expect(Object.keys(answered(scaled.tables[0])).sort()).toEqual(['myapp-1', 'myapp-2', 'myapp-3', 'myapp-4', 'myapp-5']);
  expect(total(scaled.tables[0])).toBe(100);

  // myapp-2 not ready: a partial transaction without it, and no answer from it.
  const notReady = section(all, 'Mark myapp-2 not ready');
  expect(notReady.lines.some((l) => /sent a partial transaction: \d+ lines/.test(l))).toBe(true);
  const tx = notReady.lines.filter((l) => l.startsWith('    | ')).join('\n');
  expect(tx).toContain('default/my-service');
  const [after] = notReady.tables;
  expect(after.rows.find((x) => x.backend === 'myapp-2')).toMatchObject({ endpoint: 'not ready', answers: 0 });
  expect(Object.keys(answered(after)).sort()).toEqual(['myapp-1', 'myapp-3', 'myapp-4', 'myapp-5']);
  expect(total(after)).toBe(100);

  // It cleaned up after itself.
  expect(r.stdout).toMatch(/^Done in [\d.]+ s: /m);
  const prefix = /every namespace is named (demo[0-9a-f]+)-\*/.exec(r.stdout)?.[1];
  expect(prefix).toBeDefined();
  expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`${prefix}-`);
}, DEMO_TIMEOUT_MS + 10_000);

/** How to run the demo without root here: as this user if it is not root, else as nobody via setpriv (if it can read the repo). */
function unprivileged(): { cmd: string; args: string[] } | undefined {
  if (process.getuid?.() !== 0) return { cmd: nodeBinary(), args: [DEMO] };
  const setpriv = ['--reuid=65534', '--regid=65534', '--clear-groups'];
  try {
    execFileSync('setpriv', [...setpriv, nodeBinary(), '-e', `require('fs').accessSync(${JSON.stringify(DEMO)})`], { stdio: 'ignore', cwd: REPO });
  } catch {
    return undefined;
  }
  return { cmd: 'setpriv', args: [...setpriv, nodeBinary(), DEMO] };
}

const asNobody = unprivileged();
(asNobody ? test : test.skip)(`without root: the dry run, one line saying why, exit 1${asNobody ? '' : ' (skipped: setpriv cannot run node on this checkout as nobody)'}`, async () => {
  const r = await run(asNobody!.cmd, asNobody!.args, { timeoutMs: 20_000 });
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toContain('$ npx sluice render --from');
  expect(r.stdout).toContain('table ip sluice {');
  expect(r.stdout).toContain('dnat ip to 10.244.2.11:9376');
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^sluice demo: no live demo here: .*root/)]);
});
