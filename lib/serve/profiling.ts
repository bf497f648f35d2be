// enableProfiling: kube-proxy serves Go's /debug/pprof on its metrics port. Node has no pprof; what
// it has is V8's CPU profiler through node:inspector. So, when enabled, the metrics port serves
// /debug/pprof/profile?seconds=N: a CPU profile of the next N seconds (default 30, as pprof) as a
// .cpuprofile (Chrome DevTools / speedscope format, not pprof's protobuf), one at a time.
import type http from 'node:http';
import { Session } from 'node:inspector/promises';
import { sendJson, sendText } from './http.ts';

const MAX_SECONDS = 300;

export function profilingHandler(): (req: http.IncomingMessage, res: http.ServerResponse, path: string) => boolean {
  let busy = false;
  return (req, res, path) => {
    if (path === '/debug/pprof' || path === '/debug/pprof/') {
      sendText(res, 200, 'profile: CPU profile, /debug/pprof/profile?seconds=30 (a V8 .cpuprofile, open it in Chrome DevTools or speedscope)\n');
      return true;
    }
    if (path !== '/debug/pprof/profile') return false;
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('seconds');
    const seconds = q === null ? 30 : Number(q);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SECONDS) {
      sendText(res, 400, `seconds: give a whole number from 1 to ${MAX_SECONDS}\n`);
      return true;
    }
    if (busy) {
      sendText(res, 409, 'a profile is already being taken\n');
      return true;
    }
    busy = true;
    void profile(seconds).then(
      (p) => sendJson(res, 200, p, { 'Content-Disposition': 'attachment; filename="sluice.cpuprofile"' }),
      (e) => sendText(res, 500, `profiling failed: ${(e as Error).message}\n`),
    ).finally(() => { busy = false; });
    return true;
  };
}

async function profile(seconds: number): Promise<unknown> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { profile } = await session.post('Profiler.stop');
    return profile;
  } finally {
    session.disconnect();
  }
}
