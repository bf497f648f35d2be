// An echo server process in a pod's namespace, started and stopped by the lab.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { ECHO_SERVER_SCRIPT, scriptInNamespace } from './scripts.ts';

export interface EchoProcess {
  pid: number;
  stop(): Promise<void>;
}

export function startEchoProcess(ns: string, name: string, tcpPorts: number[], udpPorts: number[]): Promise<EchoProcess> {
  const [cmd, args] = scriptInNamespace(ns, ECHO_SERVER_SCRIPT, [
    '--name', name, '--tcp', tcpPorts.join(','), '--udp', udpPorts.join(','),
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => fail('not ready after 10 s'), 10_000);
    function fail(why: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`echo server ${name} in ${ns}: ${why}${stderr ? `: ${stderr.trim()}` : ''}`));
    }
    child.on('error', (err) => fail(err.message));
    child.on('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was ready`));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!stdout.includes('ready\n')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      // Let go of it so a forgotten lab cannot keep the test runner alive; the server exits
      // by itself when this process is gone.
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.unref();
      resolve({ pid: child.pid!, stop: () => stopProcess(child) });
    });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
