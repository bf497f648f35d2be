// A list, page by page: each page's objects are made into what sluice keeps before the next page is
// asked for, so the whole list is never held as it came from the API server.
import { afterEach, describe, expect, it } from '@jest/globals';
import { listCollection } from '../../lib/k8s/list-collection.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';

let fake: FakeApiServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('listCollection', () => {
  it('makes every item of every page with itemAs, and keeps the list resourceVersion', async () => {
    fake = await FakeApiServer.start();
    for (let i = 0; i < 5; i++) fake.apply({ kind: 'Service', metadata: { name: `s${i}`, namespace: 'ns', managedFields: [{ manager: 'x' }] } });
    const seen: unknown[] = [];
    const list = await listCollection(fake.kubeConfig(), '/api/v1/services', {}, AbortSignal.timeout(10_000), 2, (item) => {
      seen.push(item);
      return { metadata: { name: item.metadata.name } };
    });
    expect(list.items).toEqual(['s0', 's1', 's2', 's3', 's4'].map((name) => ({ metadata: { name } })));
    expect(seen).toHaveLength(5);
    expect(list.metadata?.resourceVersion).toBe(fake.resourceVersion);
    expect(fake.requests.filter((r) => r.kind === 'Service')).toHaveLength(3);
  });
});
