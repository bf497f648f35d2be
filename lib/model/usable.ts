// Which endpoints receive traffic (kube-proxy's categorization): the ready ones; when none is ready,
// the ones still serving while terminating, so a rolling update does not drop connections.
import type { Endpoint } from './types.ts';

export function usableEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  const ready = endpoints.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return endpoints.filter((e) => e.serving && e.terminating);
}

/** The usable endpoints among all nodes' and among this node's, each categorized on its own. */
export function categorize(endpoints: readonly Endpoint[], nodeName: string): { all: Endpoint[]; local: Endpoint[] } {
  return {
    all: usableEndpoints(endpoints),
    local: usableEndpoints(endpoints.filter((e) => e.nodeName === nodeName)),
  };
}
