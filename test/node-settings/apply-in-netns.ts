// Run by conntrack.test.ts inside a network namespace: applies the conntrack settings given as JSON to
// the real files and prints the outcome. maxPerCore is set large enough that nf_conntrack_max would
// change, but only where the kernel makes it read-only in the namespace (it is global): on a kernel that
// let a namespace write it, the test would change the host's value, so there it is left out.
import { DEFAULT_CONNTRACK } from '../../lib/config/conntrack.ts';
import { createLogger } from '../../lib/log.ts';
import { applyConntrackSettings } from '../../lib/node-settings/conntrack.ts';
import { realNodeFiles } from '../../lib/node-settings/files.ts';

const files = realNodeFiles();
const maxReadOnly = files.readOnly('/proc/sys/net/netfilter/nf_conntrack_max');
const wanted = JSON.parse(process.argv[2]);
const out = applyConntrackSettings({ ...DEFAULT_CONNTRACK, maxPerCore: maxReadOnly ? 1 << 22 : 0, min: 0, ...wanted }, files, createLogger({ write: () => {} }));
process.stdout.write(JSON.stringify({ ...out, maxReadOnly }));
