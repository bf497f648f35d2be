import { describe, expect, it } from '@jest/globals';
import { EmittedObjects } from '../../lib/k8s/emitted-objects.ts';
import { slimObject } from '../../lib/objects/objects.ts';
import { RecordingSink } from '../support/recording-sink.ts';

// As the watcher gives them: slimmed as they arrived.
const svc = (name: string, rv: string) => slimObject('Service', { metadata: { name, namespace: 'ns', resourceVersion: rv, managedFields: [{}] }, spec: { clusterIP: '10.0.0.1' } });
const ops = (sink: RecordingSink) => sink.calls.map((c) => (c.op === 'synced' ? c.op : `${c.op} ${c.key}`));

describe('EmittedObjects', () => {
  it('sends each version of an object once, the very object it was given (no copy of its own)', () => {
    const sink = new RecordingSink();
    const e = new EmittedObjects('Service', sink);
    e.upsert(svc('a', '1'));
    e.upsert(svc('a', '1'));
    const v2 = svc('a', '2');
    e.upsert(v2);
    expect(ops(sink)).toEqual(['upsert ns/a', 'upsert ns/a']);
    expect(sink.get('Service', 'ns/a')).toBe(v2);
  });

  it('removes only what it sent, once', () => {
    const sink = new RecordingSink();
    const e = new EmittedObjects('Service', sink);
    e.remove(svc('never', '1'));
    e.upsert(svc('a', '1'));
    e.remove(svc('a', '2'));
    e.remove(svc('a', '2'));
    expect(ops(sink)).toEqual(['upsert ns/a', 'remove ns/a']);
  });

  it('replaces state with a list: new and changed objects upserted, unlisted ones removed', () => {
    const sink = new RecordingSink();
    const e = new EmittedObjects('Service', sink);
    e.upsert(svc('a', '1'));
    e.upsert(svc('b', '1'));
    e.replace([svc('a', '1'), svc('c', '3')]);
    expect(ops(sink)).toEqual(['upsert ns/a', 'upsert ns/b', 'upsert ns/c', 'remove ns/b']);
    expect(e.size).toBe(2);
  });
});
