import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, normalize, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { byteProgress } from '../progress.js';
import { bytes, listSome, percent } from '../../wire/format.js';
import type { ImportResult } from '../../store/import/importer.js';
import type { Store } from '../../store/store.js';
import { modelSavings } from '../../store/inspect/accounting.js';
import { parseModelRef } from '../../store/model-ref.js';
import type { ModelRef } from '../../store/model-ref.js';
import { checkSource, holdsAtLeast } from '../../store/sources.js';
import type { CheckedSource } from '../../store/sources.js';
import { checkNewModelName, modelNameProblem, quoteName } from '../../store/names.js';
import { ExampleError, MAX_EXAMPLE_BYTES, parseExample } from '../../wire/example.js';
import type { ExampleRequest } from '../../wire/example.js';
import { invalid, notFound, tooLarge } from '../../errors.js';

export interface ImportFlags {
  /** Without it, each source is a model named after it. */
  name?: string;
  version?: number;
  chunkSize?: number;
  base?: string;
  /** False with --no-delta. */
  delta?: boolean;
  /** A JSON file: an example inference request kept with the model. */
  example?: string;
  json?: boolean;
  /** Each path a folder whose subfolders are versions of one model. */
  versions?: boolean;
}

/** One source of an import and the model version it becomes. */
export interface ImportJob {
  path: string;
  name: string;
  version?: number;
  example?: ExampleRequest;
  /** The bytes the source holds (checkSource): the progress bar's share of it. */
  bytes: number;
  /** What checkSource read: the import does not read it again. */
  checked?: CheckedSource;
}

export interface ImportedJob {
  job: ImportJob;
  result: ImportResult;
  seconds: number;
}

/** What every import of a batch shares: the store's chunk size, the delta base. */
export interface BatchOptions {
  chunkSize?: number;
  /** A model reference, null for no deltas, undefined for the closest stored model. */
  base?: ModelRef | null;
}

export function describeImport(r: ImportResult, seconds: number): string {
  const ref = `${r.model.name}:${r.model.version}`;
  if (!r.created) return `${ref} already holds these files; nothing stored (${bytes(r.logicalBytes)} checked in ${seconds.toFixed(2)} s)`;
  const s = modelSavings(r.model);
  return [
    `imported ${ref}: ${r.files} file(s), ${r.tensors} tensors, ${r.chunks} chunks (${r.newChunks} new) in ${seconds.toFixed(2)} s`,
    `  logical ${bytes(r.logicalBytes)}, new bytes stored ${bytes(r.newStoredBytes)} (${percent(r.newStoredBytes, r.logicalBytes)}), deduplicated ${bytes(s.deduplicatedBytes)} (${percent(s.deduplicatedBytes, r.logicalBytes)})`,
    `  saved by compression ${bytes(s.compressionSavedBytes)}, by delta ${bytes(s.deltaSavedBytes)}${r.base ? ` against ${r.base.name}:${r.base.version}` : ''}`,
  ].join('\n');
}

/** The line after a batch's summaries: how many, how much, how fast. */
export function describeBatch(done: ImportedJob[], seconds: number): string {
  const total = done.reduce((n, d) => n + d.result.logicalBytes, 0);
  const created = done.filter((d) => d.result.created).length;
  return `${done.length} sources: ${created} imported, ${done.length - created} already stored; `
    + `${bytes(total)} in ${seconds.toFixed(2)} s (${bytes(total / Math.max(seconds, 1e-3))}/s)`;
}

/** An --example file: bounded before it is read, then checked for the shape of a request. */
function readExample(path: string): ExampleRequest {
  const size = statSync(path).size;
  if (size > MAX_EXAMPLE_BYTES) throw tooLarge(`${path}: example request is ${size} bytes; at most ${MAX_EXAMPLE_BYTES} are kept`);
  try {
    return parseExample(readFileSync(path, 'utf8'), path);
  } catch (e) {
    // src/wire imports nothing from outside it: its error becomes the taxonomy's here.
    throw e instanceof ExampleError ? invalid(e.message) : e;
  }
}

/**
 * The model a source becomes without --name: a file's stem (its name without
 * the last extension: `ckpt-1000.safetensors` is `ckpt-1000`), a directory's
 * own name. It must keep the name policy (names.ts).
 */
export function modelNameOf(path: string): string {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    throw notFound(`${path}: no such file or directory`);
  }
  const base = basename(resolve(path));
  const dot = base.lastIndexOf('.');
  const name = dir || dot <= 0 ? base : base.slice(0, dot);
  const why = modelNameProblem(name);
  if (why !== undefined) throw invalid(`${path}: a model named after it would be ${quoteName(name)}, which is not a valid model name (${why}); give one with --name`);
  return name;
}

/**
 * Names for sources whose stems collide (`conv/base.onnx` and `mlp/base.onnx`,
 * or `base.onnx` and `base.safetensors`): their path from the sources' common
 * folder, then with the extension too, as long as that is a valid name.
 * Names that still collide are left to planImport's check, which says so.
 */
function distinct(paths: string[], names: string[]): string[] {
  const clashes = (list: string[]): Set<number> => {
    const by = new Map<string, number[]>();
    list.forEach((n, i) => by.set(n.toLowerCase(), [...(by.get(n.toLowerCase()) ?? []), i]));
    return new Set([...by.values()].filter((ix) => ix.length > 1).flat());
  };
  const abs = paths.map((p) => resolve(p));
  let common = dirname(abs[0]!);
  while (common !== dirname(common) && !abs.every((p) => p.startsWith(common + sep))) common = dirname(common);
  const out = [...names];
  for (const keepExt of [false, true]) {
    for (const i of clashes(out)) {
      const rel = relative(common, abs[i]!).split(sep).join('/');
      const ext = extname(rel);
      const candidate = keepExt || ext.length === 0 || statSync(abs[i]!).isDirectory() ? rel : rel.slice(0, -ext.length);
      if (modelNameProblem(candidate) === undefined) out[i] = candidate;
    }
  }
  // Those that still collide (one path given twice) keep their stems, for planImport's message.
  for (const i of clashes(out)) out[i] = names[i]!;
  return out;
}

/** `e` with its first line naming `path` (unless it starts with it, as a reader's complaint does) and ending with `note`. */
function naming(e: unknown, path: string, note: string): unknown {
  if (!(e instanceof Error)) return e;
  const [first = '', ...rest] = e.message.split('\n');
  const named = first.startsWith(path) || first.startsWith(normalize(path)) ? first : `${path}: ${first}`;
  e.message = [`${named} (${note})`, ...rest].join('\n');
  return e;
}

/**
 * The sources as import jobs, every one checked before any is imported: its
 * model name (from --name or from the path) keeps the policy, it exists, its
 * files can be read and their structure parses. The first failure is thrown,
 * naming the source; nothing is written.
 */
export function planImport(paths: string[], name: string | undefined, version?: number, example?: ExampleRequest, versions = false): ImportJob[] {
  if (versions) return planVersions(paths, name, version, example);
  if (paths.length > 1 && version !== undefined) {
    throw invalid(`--version names one version, and ${paths.length} sources were given: each becomes the next version of its model; drop --version`);
  }
  if (name !== undefined) checkNewModelName(name);
  const names = name !== undefined ? paths.map(() => name) : distinct(paths, eachSource(paths, modelNameOf));
  if (name === undefined) {
    // Two sources named alike would become versions of one model (or, differing in case only, be refused half-way).
    const seen = new Map<string, number>();
    names.forEach((n, i) => {
      const j = seen.get(n.toLowerCase());
      if (j !== undefined) {
        throw invalid(`${paths[j]} and ${paths[i]} would both be model ${quoteName(n)}: import them with --name to make them versions of one model, or one at a time`);
      }
      seen.set(n.toLowerCase(), i);
    });
  }
  return checkAll(paths, names, version, example);
}

/** f(path) for every source, a failure naming the path when there are several. */
function eachSource<T>(paths: string[], f: (path: string) => T): T[] {
  return paths.map((path) => {
    try {
      return f(path);
    } catch (e) {
      throw paths.length > 1 ? naming(e, path, `nothing imported: all ${paths.length} sources are checked before any is`) : e;
    }
  });
}

/** The jobs, every source checked (checkSource) before any is imported; a failure names its path. */
function checkAll(paths: string[], names: string[], version: number | undefined, example: ExampleRequest | undefined): ImportJob[] {
  const checked = eachSource(paths, checkSource);
  return paths.map((path, i) => ({ path, name: names[i]!, version, example, bytes: checked[i]!.bytes, checked: checked[i]!.checked }));
}

/** Orders version folder names as people number versions: 2.9.0 before 2.10.0, 1.0.0-rc.1 before 1.0.0. */
export function compareVersionNames(a: string, b: string): number {
  const parts = (s: string): (string | number)[] => s.split(/(\d+)/).filter((p) => p !== '').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const [p, q] = [x[i]!, y[i]!];
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p - q;
    // A pre-release tag sorts before the release it precedes ("-rc" vs the end of the name).
    return String(p) < String(q) ? -1 : 1;
  }
  if (x.length !== y.length) {
    const longer = x.length > y.length ? x : y;
    const next = String(longer[Math.min(x.length, y.length)]);
    const preRelease = next.startsWith('-');
    return (x.length > y.length) === preRelease ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a folder holds a file at any depth. */
function holdsFile(dir: string): boolean {
  return readdirSync(dir, { withFileTypes: true }).some((e) => e.isFile() || (e.isDirectory() && holdsFile(join(dir, e.name))) || e.isSymbolicLink());
}

/**
 * --versions: each path is a folder of versions (`human-models/2.9.0/`,
 * `human-models/2.10.0/`…), imported as one model named after the folder (or
 * --name, for one path), its subfolders the next versions in version order.
 */
function planVersions(paths: string[], name: string | undefined, version: number | undefined, example: ExampleRequest | undefined): ImportJob[] {
  if (version !== undefined) throw invalid('--version names one version, and --versions imports a folder of them: drop --version');
  if (name !== undefined && paths.length > 1) throw invalid(`--name names one model, and --versions was given ${paths.length} folders (one model each, named after the folder): give one folder, or drop --name`);
  if (name !== undefined) checkNewModelName(name);
  const sources: string[] = [];
  const names: string[] = [];
  for (const dir of paths) {
    let subs: string[];
    try {
      subs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    } catch {
      throw invalid(`${dir}: --versions takes folders whose subfolders are the versions; this is not a readable folder`);
    }
    // A version folder with no file at all (an interrupted download) is no version: left out.
    subs = subs.filter((v) => holdsFile(join(dir, v)));
    if (subs.length === 0) throw invalid(`${dir}: no version subfolders holding files (--versions imports each subfolder as the next version)`);
    const model = name ?? modelNameOf(dir);
    for (const v of subs.sort(compareVersionNames)) {
      sources.push(join(dir, v));
      names.push(model);
    }
  }
  const seen = new Map<string, string>();
  names.forEach((n, i) => {
    const first = seen.get(n.toLowerCase());
    if (first !== undefined && dirname(first) !== dirname(sources[i]!)) {
      throw invalid(`${dirname(first)} and ${dirname(sources[i]!)} would both be model ${quoteName(n)}: import them in separate calls with --name`);
    }
    seen.set(n.toLowerCase(), sources[i]!);
  });
  return checkAll(sources, names, undefined, example);
}

/**
 * A model of at least this many bytes hashes and encodes on worker threads
 * (as store.import decides for one import); smaller models of a batch run on
 * the importing thread even when the threads are up. Trained-digits (40
 * models of ~2 MB) took 1.5-1.6 s that way against 1.9-2.1 s with every model
 * on the threads: for a model that small, a task's round trip and the copies
 * of its delta bases cost more than the second core gives back.
 */
const MODEL_THREADS_MIN = 16 << 20;

/**
 * Imports the jobs in order, each in a transaction of its own (what
 * store.import does) with their commits grouped (store.importBatch), under
 * one progress bar for all their bytes; each one durable is added to `done`.
 * A failure stops the batch: the models imported before it stay (they are
 * in `done`), and the error names the source and says which were imported
 * and which not.
 */
export async function importJobs(store: Store, jobs: ImportJob[], opts: BatchOptions, done: ImportedJob[] = []): Promise<ImportedJob[]> {
  const total = jobs.reduce((n, j) => n + j.bytes, 0);
  const bar = byteProgress(`importing ${jobs[0]?.name ?? ''}`);
  // Imported but not yet durable: done once the group commits them.
  const pending: ImportedJob[] = [];
  const doneBefore = done.length;
  let before = 0;
  try {
    await store.importBatch(() => done.push(...pending.splice(0)), async () => {
      for (const [i, job] of jobs.entries()) {
        const label = `importing ${job.name}${jobs.length > 1 ? ` (${i + 1}/${jobs.length})` : ''}`;
        const t0 = performance.now();
        const result = await store.import(job.path, {
          name: job.name, version: job.version, chunkSize: opts.chunkSize, base: opts.base, example: job.example, workerThreads: job.bytes >= MODEL_THREADS_MIN, checked: job.checked,
          onProgress: (n) => bar.update(before + n, total, label),
        });
        pending.push({ job, result, seconds: (performance.now() - t0) / 1000 });
        before += job.bytes;
      }
    });
    return done;
  } catch (e) {
    if (jobs.length === 1) throw e;
    // The source that failed comes after every one imported; past the last, it was the final commit that failed.
    const at = done.length - doneBefore + pending.length;
    const failedAt = at < jobs.length ? at : undefined;
    const refs = done.map((d) => `${d.result.model.name}:${d.result.model.version}`);
    // Imported models a failed commit took with it are not imported either.
    const rest = [...pending.map((p) => p.job), ...jobs.slice(at + 1)].map((j) => j.path);
    const where = failedAt === undefined ? 'the commit failed' : `stopped at source ${failedAt + 1} of ${jobs.length}`;
    throw naming(store.explainError(e), failedAt === undefined ? store.location : jobs[failedAt]!.path, `${where}; `
      + (refs.length ? `imported before it: ${refs.join(', ')}` : 'none imported before it')
      + (rest.length ? `; not imported: ${listSome(rest, rest.length, 5)}` : ''));
  } finally {
    bar.stop();
  }
}

function printResults(done: ImportedJob[], json: boolean | undefined, batchSeconds?: number): void {
  if (json) return printJson(done.map(({ result, seconds }) => ({ ...result, seconds, ...modelSavings(result.model) })));
  for (const d of done) console.log(describeImport(d.result, d.seconds));
  if (batchSeconds !== undefined) console.log(describeBatch(done, batchSeconds));
}

export async function action(paths: string[], flags: ImportFlags, cmd: Command): Promise<void> {
  const t0 = performance.now();
  const base = flags.delta === false ? null : flags.base !== undefined ? parseModelRef(flags.base) : undefined;
  const example = flags.example !== undefined ? readExample(flags.example) : undefined;
  // A source big enough for worker threads starts them first: they load while the sources are checked.
  const threads = paths.some((p) => holdsAtLeast(p, MODEL_THREADS_MIN)) ? new (await import('../../store/import/import-threads.js')).ImportThreads() : undefined;
  let jobs: ImportJob[];
  try {
    // Every source is read and checked before the store is even opened.
    jobs = planImport(paths, flags.name, flags.version, example, flags.versions === true);
  } catch (e) {
    await threads?.close();
    throw e;
  }
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    // What would refuse every import is refused before the first.
    if (flags.chunkSize !== undefined) await store.chunkSize(flags.chunkSize);
    if (base) await store.resolve(base);
    const done: ImportedJob[] = [];
    try {
      await importJobs(store, jobs, { chunkSize: flags.chunkSize, base }, done);
    } catch (e) {
      // What a failed batch did import is said as a whole one's would be (the error says the rest).
      if (done.length) printResults(done, flags.json);
      throw e;
    }
    printResults(done, flags.json, jobs.length > 1 ? (performance.now() - t0) / 1000 : undefined);
  }, { importThreads: threads });
}
