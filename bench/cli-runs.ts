/**
 * Tessera as a user runs it: `tessera import` processes (bin/tessera.js),
 * process start and store open and close included, on an empty store each
 * run. Two ways:
 *
 *   one call      all sources in one `tessera import SRC...` process: the
 *                 model files, or the package folders with --versions
 *                 (see oneCallPlan)
 *   per model     one `tessera import SRC --name N` process per model, in
 *                 import order (how the user of issue 15 did it)
 *
 * Until the CLI takes several sources, "one call" falls back to one process
 * per model, and the result says so.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { planImport } from '../src/cli/commands/import.js';
import type { Corpus } from './corpus.js';
import { run } from './proc.js';
import type { StoreSite } from './tessera.js';
import { timed, timing } from './timing.js';
import type { Timing } from './timing.js';
import { median } from './units.js';

export type CliMode = 'one-call' | 'per-model';

/** One `tessera import` process: its sources in order, the --name it gets, if any, and whether --versions. */
export interface CliCall {
  sources: string[];
  name?: string;
  /** Each source a folder of versions of one model (`tessera import --versions`). */
  versions?: boolean;
}

export interface CliResult {
  mode: CliMode;
  /** Processes per run. */
  calls: number;
  /** Wall time of all the processes of a run, one after the other. */
  import: Timing;
  /** The store on disk after the first run (undefined for a --store other than a fresh SQLite file). */
  storedBytes?: number;
  /** The command lines, for the note under the table. */
  how: string;
  /** Set when the run is not what the mode says (the fallback), or its models came out other than planned. */
  note?: string;
  /** name:version of every model in the store after the first run, sorted. */
  models: string[];
}

/** The command lines of a plan, for the note under the table. */
export function describePlan(plan: CliCall[]): string {
  if (plan.length > 1 || plan[0]?.sources.length === 1) return `tessera import SRC --name N, one process per model in import order (${plan.length})`;
  if (plan[0]!.versions) return `tessera import DIR/PKG... --versions (${plan[0]!.sources.length} packages): each package one model, its version folders in version order`;
  return `tessera import FILE... (${plan[0]!.sources.length} sources), each model named after its file stem (its path from the corpus folder where stems repeat)`;
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
 * All sources in one `tessera import` process: the model files as they are
 * (the CLI names each after its stem, or its path where stems repeat), or the
 * package folders with --versions (each one model, its version folders in
 * version order).
 */
export function oneCallPlan(corpus: Corpus): CliCall[] {
  if (corpus.kind === 'versions') return [{ sources: [...new Set(corpus.models.map((m) => dirname(m.abs)))], versions: true }];
  return [{ sources: corpus.models.map((m) => m.abs) }];
}

/** What the plan should leave in the store, by the CLI's own naming (planImport): model name -> number of versions. */
export function expectedModels(plan: CliCall[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of plan) {
    for (const job of planImport(c.sources, c.name, undefined, undefined, c.versions === true)) out.set(job.name, (out.get(job.name) ?? 0) + 1);
  }
  return out;
}

function argsOf(tesseraJs: string, location: string, c: CliCall): string[] {
  return [tesseraJs, '--store', location, 'import', ...c.sources, ...(c.name === undefined ? [] : ['--name', c.name]), ...(c.versions ? ['--versions'] : [])];
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
  // One model is one call whatever the CLI takes.
  if (mode === 'per-model' || corpus.models.length === 1) plan = perModelPlan(corpus);
  else if (opts.manySources) plan = oneCallPlan(corpus);
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
    const want = expectedModels(plan);
    const got = new Map<string, number>();
    for (const ref of models) {
      const name = ref.slice(0, ref.lastIndexOf(':'));
      got.set(name, (got.get(name) ?? 0) + 1);
    }
    const same = want.size === got.size && [...want].every(([n, v]) => got.get(n) === v);
    if (!same) note = `the store holds ${got.size} models (${models.length} versions), not the ${want.size} (${[...want.values()].reduce((a, b) => a + b, 0)} versions) planned`;
  }
  return { mode, calls: plan.length, import: timing(runs), storedBytes, how: describePlan(plan), note, models };
}

/** Median seconds of a process per model: the fixed cost a model pays in the per-model mode. */
export function perCall(r: CliResult): number {
  return median(r.import.runs) / Math.max(1, r.calls);
}

/** Rounds of one mode (the bench interleaves them with the other tools) as one result: the first's sizes and notes, timings over all. */
export function mergeCli(rs: CliResult[]): CliResult {
  return { ...rs[0]!, import: timing(rs.flatMap((r) => r.import.runs)) };
}
