// Whether the service ports some consumer cares about changed from one model to the next: a model
// updated for a few services (live-model.ts) says which ports it replaced, so the answer needs no
// walk of every service port.
import type { ProxyModel, ServicePort } from './types.ts';

/**
 * Whether a port for which `matters` holds differs between `since` and `model` (came, went, or is
 * another object); undefined when `model` was not updated from `since`: only a look at both whole can say.
 */
export function portsChanged(model: ProxyModel, since: ProxyModel | undefined, matters: (sp: ServicePort) => boolean): boolean | undefined {
  if (since === model) return false;
  const change = model.change;
  if (!since || !change || change.base.deref() !== since) return undefined;
  const before = change.removed.filter(matters), after = change.added.filter(matters);
  return before.length !== after.length || before.some((sp, i) => sp !== after[i]);
}
