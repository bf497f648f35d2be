// client-node's Watch, fenced to one informer run. It closes three gaps in ListWatch/Watch 2.0.1:
// - Watch.watch awaits auth (applySecurityAuthentication) outside its try block, so a failing token
//   or exec plugin rejects a promise ListWatch.doneHandler never catches when reconnecting on its
//   own: here that failure goes to `done` and so to the informer's error handlers.
// - ListWatch.stop() only aborts a connection it already holds; one still being opened (or opened
//   after a reconnect delay) would stay open after stop: here it is aborted as soon as it exists.
// - doneHandler does not look at `stopped` again after its awaits: here a run that is over opens nothing.
// And ListWatch keeps every object it is given in a cache of its own: here it is given each event's
// object as sluice keeps it (`objectAs`), so that its cache and the store hold one copy between them.
import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

type QueryParams = Record<string, string | number | boolean | undefined>;

/** Watch event types that carry an object of the kind watched (not BOOKMARK, not an ERROR's Status). */
const OBJECT_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);

export class GuardedWatch extends Watch {
  #live: () => boolean;
  #objectAs: (obj: any) => unknown;

  /** `live` says whether the run this watch belongs to is still current; `objectAs` makes what the callback gets of each object. */
  constructor(kc: KubeConfig, live: () => boolean, objectAs: (obj: any) => unknown = (obj) => obj) {
    super(kc);
    this.#live = live;
    this.#objectAs = objectAs;
  }

  async watch(
    path: string, queryParams: QueryParams,
    callback: (phase: string, apiObj: any, watchObj?: any) => void, done: (err: any) => void,
  ): Promise<AbortController> {
    if (!this.#live()) return aborted();
    // Bookmarks keep a quiet watch's resourceVersion fresh, so reconnects need fewer relists.
    const params = { ...queryParams, allowWatchBookmarks: true };
    try {
      const objectAs = this.#objectAs;
      const controller = await super.watch(path, params, (phase, obj, event) => callback(phase, OBJECT_EVENTS.has(phase) ? objectAs(obj) : obj, event), done);
      if (!this.#live()) controller.abort();
      return controller;
    } catch (err) {
      done(err);
      return aborted();
    }
  }
}

function aborted(): AbortController {
  const c = new AbortController();
  c.abort();
  return c;
}
