import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a program to completion; rejects with its stderr when it exits non-zero. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.slice(0, 4).join(' ')}${args.length > 4 ? ' …' : ''}: exit ${code ?? signal}\n${stderr.trim()}`));
    });
  });
}

/** The program's path on PATH, or undefined: a peer whose binary is missing is skipped, not an error. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** "restic 0.14.0": the first version number the program's banner (`cmd args`) shows, or just the name. */
export async function version(cmd: string, args: string[]): Promise<string> {
  // Some print their banner only with their usage, and exit 1 (zpaq): the banner counts whatever the exit code.
  const banner = await new Promise<string>((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.once('error', () => resolve(''));
    child.once('close', () => resolve(Buffer.concat(out).toString('utf8')));
  });
  const v = /\bv?(\d+\.\d+(?:\.\d+)?)\b/.exec(banner);
  return v ? `${cmd} ${v[1]}` : cmd;
}
