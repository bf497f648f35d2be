// client-node's Watch, fenced to one informer run. It closes three gaps in ListWatch/Watch 2.0.1:
// - Watch.watch awaits auth (applySecurityAuthentication) outside its try block, so a failing token
//   or exec plugin rejects a promise ListWatch.doneHandler never catches when reconnecting on its
//   own: here that failure goes to `done` and so to the informer's error handlers.
// - ListWatch.stop() only aborts a connection it already holds; one still being opened (or opened
//   after a reconnect delay) would stay open after stop: here it is aborted as soon as it exists.
// - doneHandler does not look at `stopped` again after its awaits: here a run that is over opens nothing.
import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

type QueryParams = Record<string, string | number | boolean | undefined>;

export class GuardedWatch extends Watch {
  #live: () => boolean;

  /** `live` says whether the run this watch belongs to is still current. */
  constructor(kc: KubeConfig, live: () => boolean) {
    super(kc);
    this.#live = live;
  }

  async watch(
    path: string, queryParams: QueryParams,
    callback: (phase: string, apiObj: any, watchObj?: any) => void, done: (err: any) => void,
  ): Promise<AbortController> {
    if (!this.#live()) return aborted();
    // Bookmarks keep a quiet watch's resourceVersion fresh, so reconnects need fewer relists.
    const params = { ...queryParams, allowWatchBookmarks: true };
    try {
      const controller = await super.watch(path, params, callback, done);
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
