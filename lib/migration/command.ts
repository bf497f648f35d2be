// `sluice cleanup --kube-proxy`: removes kube-proxy's leftovers in one step and says what it did.
// sluice's own tables stay (this is the step after sluice has taken over).
import type { Logger } from '../log.ts';
import { describeLeftovers } from './at-start.ts';
import type { Tools } from './exec.ts';
import { findKubeProxyLeftovers, hasLeftovers } from './leftovers.ts';
import { removeKubeProxyLeftovers } from './remove.ts';

/** Exit code: 0 when nothing of kube-proxy's is left, 1 otherwise. */
export async function cleanupKubeProxy(tools: Tools, log: Pick<Logger, 'info' | 'error'>): Promise<number> {
  const found = await findKubeProxyLeftovers(tools);
  if (!hasLeftovers(found)) {
    log.info('no kube-proxy leftovers on this node', { notChecked: found.notChecked });
    return 0;
  }
  const { failures } = await removeKubeProxyLeftovers(found, tools);
  const after = await findKubeProxyLeftovers(tools);
  if (failures.length > 0 || hasLeftovers(after)) {
    log.error('could not remove all of kube-proxy\'s leftovers', { failures, left: describeLeftovers(after) });
    return 1;
  }
  log.info(`removed kube-proxy's leftovers: ${describeLeftovers(found)}`, { notChecked: found.notChecked });
  return 0;
}
