import { describe, expect, test } from '@jest/globals';
import { recordingLogger } from '../../lib/log.ts';
import { formatBindAddress, serveHttp } from '../../lib/serve/http.ts';
import { freePort, get, occupy } from './helpers.ts';

test('formatBindAddress puts IPv6 hosts in brackets', () => {
  expect(formatBindAddress({ host: '::', port: 10256 })).toBe('[::]:10256');
  expect(formatBindAddress({ host: '0.0.0.0', port: 10256 })).toBe('0.0.0.0:10256');
});

describe('serveHttp', () => {
  test('keeps retrying a busy port, as kube-proxy does, and serves once it is free', async () => {
    const port = await freePort();
    const squatter = await occupy(port);
    const logger = recordingLogger();
    const serving = serveHttp((_req, res) => res.end('hi'), { host: '127.0.0.1', port }, { logger, name: 'test', retryMs: 20 });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(logger.lines.filter((l) => l.msg === 'cannot listen, will retry').length).toBeGreaterThanOrEqual(2);
      await squatter.release();
      expect((await serving.listening).port).toBe(port);
      expect((await get(port, '/')).body).toBe('hi');
    } finally {
      await serving.close();
    }
  });

  test('close() before it ever listened stops the retries', async () => {
    const port = await freePort();
    const squatter = await occupy(port);
    const logger = recordingLogger();
    const serving = serveHttp((_req, res) => res.end(), { host: '127.0.0.1', port }, { logger, name: 'test', retryMs: 10 });
    await new Promise((r) => setTimeout(r, 30));
    await serving.close();
    await expect(serving.listening).rejects.toThrow(/closed before it listened/);
    const attempts = logger.lines.length;
    await squatter.release();
    await new Promise((r) => setTimeout(r, 50));
    expect(logger.lines.length).toBe(attempts);
  });
});
