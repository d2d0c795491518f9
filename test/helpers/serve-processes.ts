/** `tessera serve` processes for the tests of several servers on one store. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { BIN } from './cli.js';

export interface Server { child: ChildProcess; url: string; output: () => string }

export function startServe(store: string, args: string[] = []): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--store', store, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, output: () => out + err });
    });
    child.once('exit', (code) => reject(new Error(`tessera serve exited with ${code}: ${err}`)));
  });
}

export async function stop(s: Server): Promise<number | null> {
  if (s.child.exitCode !== null) return s.child.exitCode;
  const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
  s.child.kill('SIGTERM');
  return exited;
}

export async function get(url: string, init: RequestInit = {}): Promise<{ status: number; body: Buffer; json: <T>() => T }> {
  const r = await fetch(url, init);
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, body, json: <T>() => JSON.parse(body.toString('utf8')) as T };
}

