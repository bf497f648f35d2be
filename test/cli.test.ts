// The command line as users run it: the README's example, bad configuration, bad objects, lists.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const sluice = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'cmd/sluice.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'sluice-cli-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the README\'s example renders the golden my-service script', () => {
  const r = sluice(['render', '--from', 'examples/my-service', '--config', 'examples/kube-proxy-config.yaml']);
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(readFileSync(join(ROOT, 'rules-fixtures/my-service/expected.nft'), 'utf8'));
});

test('make example runs the same command', () => {
  const out = execFileSync('make', ['-s', '--dry-run', 'example'], { cwd: ROOT, encoding: 'utf8' });
  expect(out).toContain('npx sluice render --from examples/my-service --config examples/kube-proxy-config.yaml');
});

test('an invalid configuration value is an error naming the field, exit 2', () => {
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nnftables:\n  masqueradeBit: 40\n');
  const r = sluice(['render', '--from', 'examples/my-service', '--config', config]);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('nftables.masqueradeBit');
  expect(r.stdout).toBe('');
});

test('an unknown configuration field is a warning, and the rules are still rendered', () => {
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nhostnameOverride: node1\nnotAField: 1\n');
  const r = sluice(['render', '--from', 'examples/my-service', '--config', config]);
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('unknown field "notAField"');
  expect(r.stdout).toContain('table ip sluice {');
});

test('invalid objects are skipped with a warning naming them; the rest is rendered, exit 0', () => {
  writeFileSync(join(dir, 'a.yaml'), [
    'apiVersion: v1\nkind: Service\nmetadata: { name: ok, namespace: default }\nspec: { clusterIP: 10.96.0.1, ports: [{ port: 80 }] }',
    'apiVersion: v1\nkind: Service\nmetadata: { name: bad, namespace: default }\nspec: { clusterIP: 10.96.0.2, ports: [{ port: 80, protocol: TCPX }] }',
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d, namespace: default }',
  ].join('\n---\n'));
  const r = sluice(['render', '--from', dir, '--node', 'node1']);
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('Service default/bad skipped: spec.ports[0].protocol "TCPX" is not TCP, UDP or SCTP');
  expect(r.stderr).toContain('ignored Deployment');
  expect(r.stdout).toContain('10.96.0.1 . tcp . 80 : goto reject-chain');
  expect(r.stdout).not.toContain('10.96.0.2');
});

test('JSON lists as the API returns them (ServiceList items without kind) are read', () => {
  writeFileSync(join(dir, 'services.json'), JSON.stringify({
    kind: 'ServiceList', apiVersion: 'v1',
    items: [{ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.5', ports: [{ port: 443 }] } }],
  }));
  writeFileSync(join(dir, 'more.yaml'), 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata: { name: api, namespace: default }\n    spec: { clusterIP: 10.96.0.6, ports: [{ port: 80 }] }\n');
  const r = sluice(['render', '--from', dir, '--node', 'node1']);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('10.96.0.5 . tcp . 443');
  expect(r.stdout).toContain('10.96.0.6 . tcp . 80');
});

test('usage errors exit 2', () => {
  expect(sluice(['render']).status).toBe(2);
  expect(sluice(['render', '--from', join(dir, 'missing')]).status).toBe(2);
  expect(sluice(['frobnicate']).status).toBe(2);
  expect(sluice(['render', '--bogus']).status).toBe(2);
  const r = sluice(['render', '--from', 'examples/my-service', '--node', 'node1\nflush ruleset']);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('is not a valid Kubernetes node name');
  for (const period of ['0', '10x', '1h-1m']) {
    const p = sluice(['run', '--from', 'examples/my-service', '--full-sync-period', period]);
    expect(p.status).toBe(2);
    expect(p.stderr).toContain(`--full-sync-period ${period}: expected a duration greater than 0`);
  }
});
