/**
 * Tessera as a user runs it: `tessera import` processes (bin/tessera.js),
 * process start and store open and close included, on an empty store each
 * run. Two ways:
 *
 *   one call      every source in one `tessera import SRC... ` process: each
 *                 model file named after its file stem; a package-version
 *                 corpus's version folders become versions of their package
 *                 (see oneCallPlan)
 *   per model     one `tessera import SRC --name N` process per model, in
 *                 import order (how the user of issue 15 did it)
 *
 * Until the CLI takes several sources, "one call" falls back to one process
 * per model, and the result says so.
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Corpus } from './corpus.js';
import { run } from './proc.js';
import type { StoreSite } from './tessera.js';
import { timed, timing } from './timing.js';
import type { Timing } from './timing.js';
import { median } from './units.js';

export type CliMode = 'one-call' | 'per-model';

/** One `tessera import` process: its sources in order, and the --name it gets, if any. */
export interface CliCall {
  sources: string[];
  name?: string;
}

export interface CliResult {
  mode: CliMode;
  /** Processes per run. */
  calls: number;
  /** Wall time of all the processes of a run, one after the other. */
  import: Timing;
  /** The store on disk after the first run (undefined for a --store other than a fresh SQLite file). */
  storedBytes?: number;
  /** Set when the run is not what the mode says (the fallback), or its models came out other than planned. */
  note?: string;
  /** name:version of every model in the store after the first run, sorted. */
  models: string[];
}

/** The command line of a CLI process, for the notes under the tables. */
export function describeCall(c: CliCall): string {
  return `tessera import ${c.sources.length === 1 ? 'SRC' : 'SRC...'}${c.name === undefined ? '' : ' --name N'}`;
}

/**
 * Whether `tessera import` takes several sources: its usage line names a
 * variadic argument (commander prints `<path...>`).
 */
export async function cliTakesManySources(tesseraJs: string): Promise<boolean> {
  const { stdout } = await run(process.execPath, [tesseraJs, 'import', '--help']);
  const usage = stdout.split('\n').find((l) => l.includes('tessera import')) ?? '';
  return /[<[][^>\]]*\.\.\.[>\]]/.test(usage);
}

/** One process per model, named as the in-process run names it. */
export function perModelPlan(corpus: Corpus): CliCall[] {
  return corpus.models.map((m) => ({ sources: [m.abs], name: m.name }));
}

/**
 * One process for the whole corpus. Model files are passed as they are (the
 * CLI names each after its file stem). A version folder is named after its
 * folder, which is its version ("3.0.4"), so each version is passed through a
 * link named after its package (staging/<i>/<package> -> DIR/<package>/<version>),
 * and the versions of a package, in order, become versions of one model:
 * without --name, sources of one name are successive versions of it.
 */
export function oneCallPlan(corpus: Corpus, staging: string): CliCall[] {
  if (corpus.kind === 'files') return [{ sources: corpus.models.map((m) => m.abs) }];
  const sources = corpus.models.map((m, i) => {
    const dir = join(staging, String(i));
    mkdirSync(dir, { recursive: true });
    const link = join(dir, m.name);
    symlinkSync(m.abs, link, 'dir');
    return link;
  });
  return [{ sources }];
}

/** What the one-call plan should leave in the store: model name -> number of versions. */
export function expectedModels(corpus: Corpus, plan: CliCall[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of plan) {
    for (const s of c.sources) {
      const name = c.name ?? basename(s).replace(/\.[^.]*$/, '');
      out.set(name, (out.get(name) ?? 0) + 1);
    }
  }
  void corpus;
  return out;
}

function argsOf(tesseraJs: string, location: string, c: CliCall): string[] {
  return [tesseraJs, '--store', location, 'import', ...c.sources, ...(c.name === undefined ? [] : ['--name', c.name])];
}

async function listModels(tesseraJs: string, location: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [tesseraJs, '--store', location, 'ls', '--json']);
  const rows = JSON.parse(stdout) as { name: string; version: number }[];
  return rows.map((r) => `${r.name}:${r.version}`).sort();
}

/**
 * `repeat` runs of the plan's processes, one after the other, each run on an
 * empty store; the time is the wall time of all of them.
 */
export async function measureCli(
  mode: CliMode, corpus: Corpus, site: StoreSite, tesseraJs: string, tmp: string,
  opts: { repeat: number; manySources: boolean; log: (s: string) => void },
): Promise<CliResult> {
  const staging = join(tmp, 'cli-sources');
  let note: string | undefined;
  let plan: CliCall[];
  if (mode === 'per-model') plan = perModelPlan(corpus);
  else if (opts.manySources) plan = oneCallPlan(corpus, staging);
  else {
    plan = perModelPlan(corpus);
    note = 'FALLBACK: this CLI takes one source per call, so "one call" ran one process per model';
  }
  const runs: number[] = [];
  let storedBytes: number | undefined;
  let models: string[] = [];
  try {
    for (let i = 0; i < opts.repeat; i++) {
      const { location, bytes, done } = await site.freshLocation();
      try {
        const t = await timed(async () => {
          for (const c of plan) await run(process.execPath, argsOf(tesseraJs, location, c));
        });
        runs.push(t.seconds);
        if (i === 0) {
          storedBytes = bytes();
          models = await listModels(tesseraJs, location);
        }
      } finally {
        await done();
      }
      opts.log(`  tessera import, ${mode} (${plan.length} process${plan.length === 1 ? '' : 'es'}), run ${i + 1}/${opts.repeat}: ${runs.at(-1)!.toFixed(2)} s`);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  if (mode === 'one-call' && opts.manySources) {
    // The names come from the CLI's rules: check that they made the models the plan meant.
    const want = expectedModels(corpus, plan);
    const got = new Map<string, number>();
    for (const ref of models) {
      const name = ref.slice(0, ref.lastIndexOf(':'));
      got.set(name, (got.get(name) ?? 0) + 1);
    }
    const same = want.size === got.size && [...want].every(([n, v]) => got.get(n) === v);
    if (!same) note = `the store holds ${got.size} models (${models.length} versions), not the ${want.size} (${[...want.values()].reduce((a, b) => a + b, 0)} versions) planned`;
  }
  return { mode, calls: plan.length, import: timing(runs), storedBytes, note, models };
}

/** Median seconds of a process per model: the fixed cost a model pays in the per-model mode. */
export function perCall(r: CliResult): number {
  return median(r.import.runs) / Math.max(1, r.calls);
}
