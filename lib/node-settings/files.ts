// The node's /proc/sys and /sys as the settings code sees them, so tests can give it other files.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface NodeFiles {
  /** The file's text, trimmed; undefined when it does not exist (e.g. nf_conntrack not loaded). */
  read(path: string): string | undefined;
  write(path: string, value: string): void;
  /**
   * The kernel made the file read-only: nf_conntrack_max, for one, is 0444 in every network
   * namespace but the initial one, where the single global value lives.
   */
  readOnly(path: string): boolean;
  /** /sys is mounted read-write (a container runtime may mount it read-only). */
  sysfsWritable(): boolean;
  /** CPUs this process may run on (kube-proxy's runtime.NumCPU). */
  cpus(): number;
}

export function realNodeFiles(root = ''): NodeFiles {
  return {
    read(path) {
      try {
        return readFileSync(root + path, 'utf8').trim();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    write(path, value) {
      writeFileSync(root + path, value);
    },
    readOnly(path) {
      return (statSync(root + path).mode & 0o222) === 0;
    },
    sysfsWritable() {
      const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
      const sys = mounts.find((m) => m[2] === 'sysfs' && m[1] === '/sys');
      return sys !== undefined && sys[3].split(',')[0] === 'rw';
    },
    cpus: () => availableParallelism(),
  };
}
