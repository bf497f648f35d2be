// Kubernetes manifests from files: YAML (several documents per file) or JSON, single objects or
// lists (`kind: List`, or `ServiceList` and the like as the API returns them).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { slimObject, type KubeObject, type ObjectKind } from '../objects/objects.ts';

const API_VERSIONS: Record<ObjectKind, string> = {
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Endpoints: 'v1',
  Node: 'v1',
  ServiceCIDR: 'networking.k8s.io/v1',
};

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface FileObjects {
  objects: KubeObject[];
  /** Said once per file: parse errors, kinds sluice does not read. */
  notes: string[];
  /** The file could not be read or parsed at all. */
  unreadable?: boolean;
}

export function isManifestFile(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((e) => name.endsWith(e)) && !name.startsWith('.');
}

/** Every manifest file at `path` (a file, or a folder searched recursively), in a stable order. */
export function manifestFiles(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const full = join(path, entry.name);
    // Links are followed: a ConfigMap mounted as a volume is a folder of links into a hidden `..data`.
    let kind: 'dir' | 'file' | 'other' = entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : 'other';
    if (entry.isSymbolicLink()) {
      try {
        const st = statSync(full);
        kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      } catch {
        continue; // a dangling link
      }
    }
    if (kind === 'dir') out.push(...manifestFiles(full));
    else if (kind === 'file' && isManifestFile(entry.name)) out.push(full);
  }
  return out;
}

export function readManifestFile(file: string): FileObjects {
  const notes: string[] = [];
  let docs: unknown[];
  try {
    const text = readFileSync(file, 'utf8');
    docs = file.endsWith('.json') ? [JSON.parse(text)] : yaml.loadAll(text);
  } catch (e) {
    return { objects: [], unreadable: true, notes: [`${file}: skipped, not readable as ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`] };
  }
  const objects: KubeObject[] = [];
  const take = (doc: any, where: string, listKind?: string) => {
    if (doc === null || doc === undefined) return;
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      notes.push(`${where}: skipped, not an object`);
      return;
    }
    const kind = doc.kind ?? listKind;
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(doc.items)) {
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      doc.items.forEach((item: unknown, i: number) => take(item, `${where} items[${i}]`, itemKind));
      return;
    }
    const expected = API_VERSIONS[kind as ObjectKind];
    if (expected === undefined) {
      notes.push(`${where}: ignored ${typeof kind === 'string' ? kind.slice(0, 60) : 'object without a kind'}: sluice reads Service, EndpointSlice, Endpoints and Node`);
      return;
    }
    const apiVersion = doc.apiVersion ?? (listKind ? expected : undefined);
    if (apiVersion !== expected) {
      notes.push(`${where}: ignored ${kind} of apiVersion ${JSON.stringify(apiVersion)?.slice(0, 60)}: sluice reads ${kind} ${expected}`);
      return;
    }
    objects.push(slimObject(kind as ObjectKind, doc));
  };
  docs.forEach((d, i) => take(d, docs.length > 1 ? `${file} document ${i + 1}` : file));
  return { objects, notes };
}
