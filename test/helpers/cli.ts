import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './store-fixtures.js';

/** The CLI as users run it: `node bin/tessera.js …`, a process of its own. */
export const BIN = join(REPO_ROOT, 'bin/tessera.js');

export interface Run { code: number | null; stdout: string; stderr: string; started: number; ended: number }

export interface CliOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /**
   * RLIMIT_FSIZE in KiB (`ulimit -f`): a write past it fails with EFBIG. SIGXFSZ
   * is ignored before exec (an ignored signal stays ignored across exec), so the
   * write fails instead of the process being killed.
   */
  fileSizeLimitKiB?: number;
}

/** Starts the CLI; `done` resolves when it has exited and its output is read. */
export function startTessera(args: string[], opts: CliOptions = {}): { child: ChildProcess; done: Promise<Run> } {
  const started = Date.now();
  const env = { ...process.env, ...opts.env };
  const child = opts.fileSizeLimitKiB === undefined
    ? spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn('bash', ['-c', `ulimit -f ${opts.fileSizeLimitKiB}; trap '' XFSZ; exec "$0" "$@"`, process.execPath, BIN, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env });
  const done = new Promise<Run>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, started, ended: Date.now() }));
  });
  return { child, done };
}

/** Runs the CLI to its end. */
export function tessera(args: string[], opts: CliOptions = {}): Promise<Run> {
  return startTessera(args, opts).done;
}
