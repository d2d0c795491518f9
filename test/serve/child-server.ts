import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/store-fixtures.js';

export const BIN = join(REPO_ROOT, 'bin/tessera.js');

/** `tessera serve` running in a process of its own, as a user runs it. */
export interface ChildServer {
  url: string;
  port: number;
  pid: number;
  /** Everything it printed so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM (a graceful stop); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL unless it has exited already (for finally blocks: a failed test must not leave a server running). */
  kill(): void;
}

/** Starts `tessera serve ARGS` (with `env` added to this process's environment) and resolves once it prints the URL it serves at. */
export async function spawnServe(args: string[], env: Record<string, string> = {}): Promise<ChildServer> {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  let exitCode: number | null | undefined;
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  // 'close' rather than 'exit': it comes after the output has been read to the end.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => {
    exitCode = code;
    resolve(code);
  }));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`tessera serve exited with ${code} before serving: ${err}`)));
    });
    return {
      url, port: Number(new URL(url).port), pid: child.pid!,
      stdout: () => out,
      stderr: () => err,
      stop: () => {
        if (exitCode === undefined) child.kill('SIGTERM');
        return exited;
      },
      kill: () => {
        if (exitCode === undefined) child.kill('SIGKILL');
      },
    };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}
