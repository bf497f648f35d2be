import { afterEach, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { GuardedWatch } from '../../lib/k8s/guarded-watch.ts';
import { eventually } from '../support/eventually.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';

let fake: FakeApiServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('GuardedWatch', () => {
  it('hands a failure before the request (here: no cluster) to done instead of rejecting', async () => {
    const done: unknown[] = [];
    const controller = await new GuardedWatch(new KubeConfig(), () => true).watch('/api/v1/services', {}, () => {}, (err) => done.push(err));
    expect(done).toHaveLength(1);
    expect(String(done[0])).toContain('No currently active cluster');
    expect(controller.signal.aborted).toBe(true);
  });

  it('opens nothing for a run that is over', async () => {
    fake = await FakeApiServer.start();
    const done: unknown[] = [];
    const controller = await new GuardedWatch(fake.kubeConfig(), () => false).watch('/api/v1/services', {}, () => {}, (err) => done.push(err));
    expect(controller.signal.aborted).toBe(true);
    expect(fake.requests).toEqual([]);
    expect(done).toEqual([]);
  });

  it('asks for bookmarks and delivers events while the run is live', async () => {
    fake = await FakeApiServer.start();
    const events: string[] = [];
    const controller = await new GuardedWatch(fake.kubeConfig(), () => true)
      .watch('/api/v1/services', { resourceVersion: fake.resourceVersion }, (type, obj) => events.push(`${type} ${obj.metadata.name}`), () => {});
    fake.apply({ kind: 'Service', metadata: { name: 'a', namespace: 'ns' } });
    await eventually(() => expect(events).toEqual(['ADDED a']));
    expect(fake.requests[0].query.allowWatchBookmarks).toBe('true');
    controller.abort();
    await eventually(() => expect(fake!.openWatches()).toBe(0));
  });

  it('aborts a connection that opens after its run ended', async () => {
    fake = await FakeApiServer.start();
    fake.hold();
    let live = true;
    const opening = new GuardedWatch(fake.kubeConfig(), () => live).watch('/api/v1/services', {}, () => {}, () => {});
    await eventually(() => expect(fake!.requests).toHaveLength(1));
    live = false;
    fake.release();
    const controller = await opening;
    expect(controller.signal.aborted).toBe(true);
    await eventually(() => expect(fake!.openWatches()).toBe(0));
  });

  it('gives the callback each object as objectAs makes it (what the informer caches), a bookmark as it came', async () => {
    fake = await FakeApiServer.start();
    const events: { type: string; obj: any }[] = [];
    const controller = await new GuardedWatch(fake.kubeConfig(), () => true, (obj) => ({ slim: obj.metadata.name }))
      .watch('/api/v1/services', { resourceVersion: fake.resourceVersion }, (type, obj) => events.push({ type, obj }), () => {});
    fake.apply({ kind: 'Service', metadata: { name: 'a', namespace: 'ns', managedFields: [{ manager: 'kubectl' }] } });
    fake.apply({ kind: 'Service', metadata: { name: 'a', namespace: 'ns' }, spec: { clusterIP: '10.96.0.1' } });
    fake.delete('Service', 'ns', 'a');
    await eventually(() => expect(events).toHaveLength(3));
    fake.bookmark();
    await eventually(() => expect(events).toHaveLength(4));
    expect(events.slice(0, 3)).toEqual(['ADDED', 'MODIFIED', 'DELETED'].map((type) => ({ type, obj: { slim: 'a' } })));
    expect(events[3].type).toBe('BOOKMARK');
    expect(events[3].obj.metadata.resourceVersion).toBe(fake.resourceVersion);
    controller.abort();
    await eventually(() => expect(fake!.openWatches()).toBe(0));
  });
});
