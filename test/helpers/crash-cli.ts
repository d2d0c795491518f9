import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './store-fixtures.js';

const BIN = join(REPO_ROOT, 'bin/tessera.js');
const GATE = new URL('./crash-gate.js', import.meta.url).href;
/** Tells crash-gate.js that it was preloaded here, to wait for a command. */
const GATE_ENV = 'TESSERA_CRASH_GATE';

/** How one command ended. */
export interface Outcome {
  /** It exited on its own; false when the SIGKILL came first. */
  finished: boolean;
  code: number | null;
  /** From the moment its arguments were sent to its exit (or kill). */
  ms: number;
  stdout: string;
  stderr: string;
}

interface WarmProcess {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  out: { stdout: string; stderr: string };
}

/** `node --import crash-gate.js bin/tessera.js`, loading the CLI's modules, then waiting for its arguments. */
function startWarm(): WarmProcess {
  const child = spawn(process.execPath, ['--import', GATE, BIN], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, [GATE_ENV]: '1' } });
  const out = { stdout: '', stderr: '' };
  child.stderr!.on('data', (b: Buffer) => (out.stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      const before = out.stdout;
      out.stdout += b.toString();
      if (!before.startsWith('ready\n') && out.stdout.startsWith('ready\n')) resolve();
    });
    void exited.then(({ code, signal }) => reject(new Error(`the CLI process ended (${signal ?? code}) before it was ready: ${out.stderr}`)));
  });
  // A process killed unused (close()) is never awaited: no unhandled rejection for it.
  ready.catch(() => {});
  // A write to a process that died (EPIPE) shows as its exit: nothing more to report here.
  child.stdin!.on('error', () => {});
  return { child, ready, exited, out };
}

/**
 * Runs CLI commands as separate processes, each SIGKILLed a given time after
 * it was handed its arguments (or left to finish). The next process starts
 * loading as soon as one ends, while the test checks the store.
 */
export class CrashCli {
  private warm: WarmProcess | undefined;

  async run(args: string[], killAfterMs = Infinity): Promise<Outcome> {
    const w = this.warm ?? startWarm();
    this.warm = undefined;
    await w.ready;
    const t0 = performance.now();
    w.child.stdin!.write(JSON.stringify(args) + '\n');
    const timer = Number.isFinite(killAfterMs) ? setTimeout(() => w.child.kill('SIGKILL'), killAfterMs) : undefined;
    const { code, signal } = await w.exited;
    const ms = performance.now() - t0;
    clearTimeout(timer);
    this.warm = startWarm();
    return { finished: signal === null, code, ms, stdout: w.out.stdout.slice('ready\n'.length), stderr: w.out.stderr };
  }

  /** Ends the process waiting for a command. */
  close(): void {
    this.warm?.child.kill('SIGKILL');
    this.warm = undefined;
  }
}

/**
 * When to kill each kind of command: at a uniformly random point of 1.25 × its
 * recent running time, so most kills land inside it and about one run in five
 * finishes first, however fast this machine is today.
 */
export class KillClock {
  private readonly estimate = new Map<string, number>();

  constructor(private readonly random: () => number, private readonly firstGuessMs = 300) {}

  delay(op: string): number {
    return this.random() * 1.25 * (this.estimate.get(op) ?? this.firstGuessMs);
  }

  record(op: string, o: Outcome): void {
    const est = this.estimate.get(op) ?? this.firstGuessMs;
    if (o.finished) this.estimate.set(op, (est + o.ms) / 2);
    // Killed later than it was expected to take: it takes at least that long.
    else if (o.ms > est) this.estimate.set(op, o.ms);
  }
}
