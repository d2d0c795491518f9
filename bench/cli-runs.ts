/**
 * Tessera as a user runs it: `tessera import` processes (bin/tessera.js),
 * process start and store open and close included, on an empty store each
 * run. Two ways:
 *
 *   one call      all sources in as few `tessera import SRC...` processes as
 *                 the CLI's naming allows: one for model files, one per
 *                 package for package versions (see oneCallPlan)
 *   per model     one `tessera import SRC --name N` process per model, in
 *                 import order (how the user of issue 15 did it)
 *
 * Until the CLI takes several sources, "one call" falls back to one process
 * per model, and the result says so.
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { collectInputs } from '../src/store/import/inputs.js';
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
  /** The command lines, for the note under the table. */
  how: string;
  /** Set when the run is not what the mode says (the fallback), or its models came out other than planned. */
  note?: string;
  /** name:version of every model in the store after the first run, sorted. */
  models: string[];
}

/** The command lines of a plan, for the note under the table. */
export function describePlan(plan: CliCall[], corpus: Corpus): string {
  if (plan.every((c) => c.sources.length === 1)) return `tessera import SRC --name N, one process per model in import order (${plan.length})`;
  if (plan.length > 1) return `tessera import DIR/PKG/VERSION... --name PKG, one call per package (${plan.length}), its versions in semver order`;
  const linked = plan[0]!.sources.some((src, i) => src !== corpus.models[i]?.abs);
  return `tessera import FILE... (${plan[0]!.sources.length} sources), each model named after its file stem`
    + (linked ? ' (through links named after their paths in the corpus, since stems repeat: mlp/x.onnx -> mlp-x-onnx)' : '');
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

/** A source's model name without --name, as the CLI gives it: a file's stem, a directory's name. */
export function stemOf(path: string): string {
  const base = basename(path);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? base : base.slice(0, dot);
}

/**
 * As few `tessera import` processes as the CLI's naming allows. Without
 * --name each source is a model named after its file stem, and two sources
 * of one name are refused; with --name all sources are versions of that one
 * model. So:
 *
 *   model files    one call; the files as they are when their stems differ
 *                  (`tessera import ckpts/*.safetensors`), else through links
 *                  named after their paths in the corpus (mlp/x.onnx and
 *                  conv/x.onnx: mlp-x, conv-x; x.onnx beside x.safetensors:
 *                  x-onnx, x-safetensors), each link in a folder of its own
 *                  with links to the files its model names (ONNX external data)
 *   versions       one call per package: `tessera import DIR/pkg/<v>... --name pkg`,
 *                  its versions in semver order
 */
export function oneCallPlan(corpus: Corpus, staging: string): CliCall[] {
  if (corpus.kind === 'versions') {
    const calls: CliCall[] = [];
    for (const m of corpus.models) {
      const last = calls.at(-1);
      if (last?.name === m.name) last.sources.push(m.abs);
      else calls.push({ sources: [m.abs], name: m.name });
    }
    return calls;
  }
  const stems = corpus.models.map((m) => stemOf(m.abs).toLowerCase());
  if (new Set(stems).size === stems.length) return [{ sources: corpus.models.map((m) => m.abs) }];
  const flat = corpus.models.map((m) => m.name.replace(/\//g, '-'));
  const clash = new Set(flat.filter((n, i) => flat.findIndex((o) => o.toLowerCase() === n.toLowerCase()) !== i).map((n) => n.toLowerCase()));
  const sources = corpus.models.map((m, i) => {
    const dir = join(staging, String(i));
    mkdirSync(dir, { recursive: true });
    const ext = extname(m.abs);
    const stem = clash.has(flat[i]!.toLowerCase()) ? `${flat[i]}-${ext.slice(1)}` : flat[i]!;
    const link = join(dir, `${stem}${ext}`);
    symlinkSync(m.abs, link);
    // Files the model names (ONNX external data) are looked for beside it: link them there too.
    for (const f of collectInputs(m.abs)) {
      if (resolve(f.absPath) === resolve(m.abs)) continue;
      mkdirSync(dirname(join(dir, f.relPath)), { recursive: true });
      symlinkSync(f.absPath, join(dir, f.relPath));
    }
    return link;
  });
  return [{ sources }];
}

/** What the one-call plan should leave in the store: model name -> number of versions. */
export function expectedModels(corpus: Corpus, plan: CliCall[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of plan) {
    for (const s of c.sources) {
      const name = c.name ?? stemOf(s);
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
  // One model is one call whatever the CLI takes.
  if (mode === 'per-model' || corpus.models.length === 1) plan = perModelPlan(corpus);
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
  return { mode, calls: plan.length, import: timing(runs), storedBytes, how: describePlan(plan, corpus), note, models };
}

/** Median seconds of a process per model: the fixed cost a model pays in the per-model mode. */
export function perCall(r: CliResult): number {
  return median(r.import.runs) / Math.max(1, r.calls);
}

/** Rounds of one mode (the bench interleaves them with the other tools) as one result: the first's sizes and notes, timings over all. */
export function mergeCli(rs: CliResult[]): CliResult {
  return { ...rs[0]!, import: timing(rs.flatMap((r) => r.import.runs)) };
}
