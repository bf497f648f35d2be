import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { load, loadAll } from 'js-yaml';
import { dumpYaml, loadAllYaml } from '@kubernetes/client-node';
import { parseConfig, parseHostPort } from '../../lib/config/kube-proxy-config.ts';

const DEPLOY = path.join(import.meta.dirname, '../../deploy');
const read = (name: string) => readFileSync(path.join(DEPLOY, name), 'utf8');
const docs = (name: string): any[] => loadAll(read(name)).filter((d) => d != null) as any[];
const only = (name: string, kind: string): any => {
  const found = docs(name).filter((d) => d.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

const MANIFESTS = ['daemonset.yaml', 'configmap.yaml', 'rbac.yaml'];
const daemonSet = () => only('daemonset.yaml', 'DaemonSet');
const container = () => {
  const cs = daemonSet().spec.template.spec.containers;
  expect(cs).toHaveLength(1);
  return cs[0];
};
const configMap = () => only('configmap.yaml', 'ConfigMap');
const proxyConfig = (): any => load(configMap().data['config.conf']);
const flag = (name: string): string | undefined =>
  (container().args as string[]).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

describe('deploy manifests', () => {
  test.each(MANIFESTS)('%s parses into named objects, namespaced ones in kube-system', (name) => {
    const all = docs(name);
    expect(all.length).toBeGreaterThan(0);
    for (const d of all) {
      expect(typeof d.apiVersion).toBe('string');
      expect(typeof d.kind).toBe('string');
      expect(d.metadata.name).toBe('sluice');
      if (!d.kind.startsWith('Cluster')) expect(d.metadata.namespace).toBe('kube-system');
    }
  });

  // client-node's typed models keep only the fields Kubernetes defines: a misspelt or misplaced field
  // (hostNetwrk, probes under the pod spec) does not survive the round trip.
  test.each(MANIFESTS)('%s has only fields the Kubernetes API defines', (name) => {
    const typed = loadAllYaml(read(name)).filter((d) => d != null);
    expect(typed.map((d) => load(dumpYaml(d)))).toEqual(docs(name));
  });

  describe('DaemonSet', () => {
    test('runs on the host network of every node, as a node-critical pod', () => {
      const ds = daemonSet();
      const spec = ds.spec.template.spec;
      expect(ds.apiVersion).toBe('apps/v1');
      expect(spec.hostNetwork).toBe(true);
      expect(spec.dnsPolicy).toBe('Default');
      expect(spec.priorityClassName).toBe('system-node-critical');
      expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
      expect(ds.spec.updateStrategy.type).toBe('RollingUpdate');
      expect(ds.spec.template.metadata.labels).toMatchObject(ds.spec.selector.matchLabels);
      expect(spec.serviceAccountName).toBe(only('rbac.yaml', 'ServiceAccount').metadata.name);
    });

    test('passes its node name from the downward API and its config file', () => {
      const c = container();
      expect(c.args[0]).toBe('run');
      const nodeName = c.env.find((e: any) => e.name === 'NODE_NAME');
      expect(nodeName.valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
      expect(flag('node')).toBe('$(NODE_NAME)');
      expect(flag('config')).toBe('/var/lib/sluice/config.conf');
    });

    test('mounts the ConfigMap\'s config.conf where --config points', () => {
      const config = flag('config')!;
      const mount = container().volumeMounts.find((m: any) => m.mountPath === path.dirname(config));
      expect(mount).toBeDefined();
      expect(mount.readOnly).toBe(true);
      const volume = daemonSet().spec.template.spec.volumes.find((v: any) => v.name === mount.name);
      expect(volume.configMap.name).toBe(configMap().metadata.name);
      expect(volume.configMap.items).toContainEqual({ key: 'config.conf', path: path.basename(config) });
    });

    test('reaches the API server at the address the ConfigMap names, not through a Service', () => {
      const env = Object.fromEntries(container().env.map((e: any) => [e.name, e.valueFrom?.configMapKeyRef]));
      for (const name of ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']) {
        expect(env[name]?.name).toBe(configMap().metadata.name);
        expect(typeof configMap().data[env[name].key]).toBe('string');
      }
    });

    test('probes /livez and /healthz on the healthz port the config binds', () => {
      const c = container();
      const { port } = parseHostPort(proxyConfig().healthzBindAddress)!;
      expect(port).toBe(10256);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/livez', port });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port });
    });

    test('is privileged, as kube-proxy, to write the conntrack sysctls; mounts no host path', () => {
      const sc = container().securityContext;
      expect(sc.privileged).toBe(true);
      expect(sc.readOnlyRootFilesystem).toBe(true);
      const hostPaths = (daemonSet().spec.template.spec.volumes ?? []).filter((v: any) => v.hostPath);
      expect(hostPaths).toEqual([]); // no xtables.lock, no /lib/modules
    });

    test('requests resources', () => {
      const { requests } = container().resources;
      expect(requests.cpu).toBeDefined();
      expect(requests.memory).toBeDefined();
    });
  });

  test('the ConfigMap holds a KubeProxyConfiguration in nftables mode', () => {
    const cfg = proxyConfig();
    expect(cfg).toMatchObject({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'nftables',
      nodePortAddresses: ['primary'],
      healthzBindAddress: '0.0.0.0:10256',
      metricsBindAddress: '127.0.0.1:10249',
      nftables: { masqueradeBit: 14, syncPeriod: '30s', minSyncPeriod: '1s' },
    });
  });

  test('sluice\'s own config loader takes config.conf without a warning', () => {
    const warnings: string[] = [];
    const cfg = parseConfig(proxyConfig(), (w) => warnings.push(w));
    expect(warnings).toEqual([]);
    expect(cfg.clusterCIDRs).toHaveLength(1);
    expect(cfg.syncPeriodMs).toBe(30_000);
  });

  describe('RBAC', () => {
    type Use = { group: string; resource: string; verbs: string[]; flag?: string };
    const apiUse: Use[] = JSON.parse(read('api-use.json'));
    const triples = (rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[]) =>
      new Set(rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}/${v}`)))));
    const usesOf = (uses: Use[]) => triples(uses.map((u) => ({ apiGroups: [u.group], resources: [u.resource], verbs: u.verbs })));
    // Always needed: rbac.yaml. Needed only with a flag: rbac-endpoints.yaml.
    const wanted = usesOf(apiUse.filter((u) => u.flag === undefined));
    const flagged = usesOf(apiUse.filter((u) => u.flag === '--watch-endpoints'));
    const role = () => only('rbac.yaml', 'ClusterRole');
    const endpointsRole = () => only('rbac-endpoints.yaml', 'ClusterRole');

    // What the code calls is checked against api-use.json in test/k8s/events.test.ts.
    test('api-use.json lists what the brief asks for: v1 Endpoints only with --watch-endpoints', () => {
      expect([...wanted].sort()).toEqual([
        '/events/create',
        '/nodes/list', '/nodes/watch',
        '/services/list', '/services/watch',
        'discovery.k8s.io/endpointslices/list', 'discovery.k8s.io/endpointslices/watch',
        'networking.k8s.io/servicecidrs/list', 'networking.k8s.io/servicecidrs/watch',
      ]);
      expect([...flagged].sort()).toEqual(['/endpoints/list', '/endpoints/watch']);
      expect(apiUse.filter((u) => u.flag !== undefined && u.flag !== '--watch-endpoints')).toEqual([]);
    });

    test.each([
      ['rbac.yaml', () => role(), () => wanted],
      ['rbac-endpoints.yaml', () => endpointsRole(), () => flagged],
    ] as const)('the ClusterRole of %s grants exactly its part of api-use.json', (_name, r, uses) => {
      const granted = triples(r().rules);
      expect([...granted].filter((t) => !uses().has(t))).toEqual([]);
      expect([...uses()].filter((t) => !granted.has(t))).toEqual([]);
      for (const rule of r().rules) {
        expect(rule.resourceNames).toBeUndefined();
        expect(rule.nonResourceURLs).toBeUndefined();
        for (const field of ['apiGroups', 'resources', 'verbs']) expect(rule[field]).not.toContain('*');
      }
    });

    test('rbac-endpoints.yaml has only fields the Kubernetes API defines', () => {
      const typed = loadAllYaml(read('rbac-endpoints.yaml')).filter((d) => d != null);
      expect(typed.map((d) => load(dumpYaml(d)))).toEqual(docs('rbac-endpoints.yaml'));
    });

    test.each([
      ['rbac.yaml', () => role()],
      ['rbac-endpoints.yaml', () => endpointsRole()],
    ] as const)('the binding of %s gives the role to the DaemonSet\'s service account', (name, r) => {
      const binding = only(name, 'ClusterRoleBinding');
      const sa = only('rbac.yaml', 'ServiceAccount');
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: r().metadata.name });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    });
  });

  describe('Dockerfile', () => {
    const instructions = () =>
      read('Dockerfile').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

    test('builds on Node 26, the active LTS, with nftables, conntrack, iproute2 and the kube-proxy clean-up tools from apt', () => {
      const lines = instructions();
      expect(lines[0]).toMatch(/^FROM node:26-/);
      const apt = lines.find((l) => l.startsWith('RUN') && l.includes('apt-get install'));
      for (const pkg of ['nftables', 'conntrack', 'iproute2', 'iptables', 'ipset', 'ipvsadm']) expect(apt).toMatch(new RegExp(`\\b${pkg}\\b`));
    });

    test('installs production dependencies from the lockfile and runs cmd/sluice.ts run', () => {
      const lines = instructions();
      expect(lines.some((l) => /^RUN npm ci .*--omit=dev/.test(l))).toBe(true);
      expect(lines).toContain('COPY package.json package-lock.json ./');
      const json = (prefix: string) => JSON.parse(lines.find((l) => l.startsWith(prefix + ' '))!.slice(prefix.length + 1));
      expect([...json('ENTRYPOINT'), ...json('CMD')]).toEqual(['node', '--max-semi-space-size=8', '--expose-gc', 'cmd/sluice.ts', 'run']);
    });

    test('copies only what exists in the repository, the entry point included', () => {
      const root = path.join(DEPLOY, '..');
      const sources = instructions().filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1));
      expect(sources).toEqual(expect.arrayContaining(['cmd', 'lib']));
      for (const s of sources) expect(existsSync(path.join(root, s))).toBe(true);
      expect(existsSync(path.join(root, 'cmd/sluice.ts'))).toBe(true);
    });
  });
});
