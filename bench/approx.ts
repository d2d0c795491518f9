/**
 * Approximate deduplication's benchmark (`npm run bench -- --approx`): on
 * the trained-digits families of ../shared/corpus (their ONNX files; skipped
 * with a note when absent), stored bytes against the measured accuracy drop
 * at bounds of 0.5, 1, 2 and 3.5%, beside lossless Tessera.
 *
 *  1. Lossless: both families' ONNX files imported into a fresh store, base
 *     checkpoint first (in-process Store.import, per-model time the median
 *     of the rounds).
 *  2. Per bound, a copy of that store: `approximate` on each fine-tuned
 *     model with its own evaluation inputs and labels (the corpus README's
 *     table), then the lossless fine-tuned versions removed and gc run: the
 *     stored bytes a user keeps who replaces them with the lossy ones.
 *  3. The search's time per model beside its import time, in-process and as
 *     one CLI call each (`tessera approx` beside `tessera import`, process
 *     start included).
 *
 * A store holding the lossless family and its lossy versions at every bound
 * (each made from the lossless version, as in the per-bound stores) is kept
 * and its path printed: the dashboard's "Lossy versions" chart plots them.
 * Tables only, no assertions.
 */
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { table } from '../src/cli/format.js';
import { Store } from '../src/store/store.js';
import { approximate } from '../src/approx/approximate.js';
import { readEvalData, readLabels } from '../src/approx/eval-data.js';
import type { LossyInfo } from '../src/wire/lossy.js';
import { run } from './proc.js';
import { int, median, pct } from './units.js';

export interface ApproxBenchOptions {
  repoRoot: string;
  tmp: string;
  /** Rounds of the lossless import (its per-model time is their median). */
  rounds: number;
  log: (s: string) => void;
}

const FAMILIES = ['mlp', 'conv'] as const;
const BOUNDS = [0.005, 0.01, 0.02, 0.035];
/** The bound the search is timed at (rounds of it, each from a cold store: sketches not yet kept). */
const TIMED_BOUND = 0.01;
const TARGET = { bytesBelowLossless: 0.3, atDrop: 0.01, searchVsImport: 10 };

/** Each model of a family: its evaluation inputs and labels (corpus README), and whether it is a fine-tune approx works on. */
const MODELS: { file: string; x: string; y: string; fineTuned: boolean }[] = [
  { file: 'base-ckpt3', x: 'digits-x', y: 'digits-y', fineTuned: false },
  { file: 'ft-full-noise', x: 'noise-x', y: 'digits-y', fineTuned: true },
  { file: 'ft-full-rot', x: 'rot-x', y: 'digits-y', fineTuned: true },
  { file: 'ft-partial-noise', x: 'noise-x', y: 'digits-y', fineTuned: true },
  { file: 'lora-merged', x: 'digits-x', y: 'digits-y', fineTuned: true },
  { file: 'ft-head-parity', x: 'digits-x', y: 'parity-y', fineTuned: true },
  { file: 'ft-head-big', x: 'digits-x', y: 'big-y', fineTuned: true },
  { file: 'unrelated', x: 'digits-x', y: 'digits-y', fineTuned: false },
];

export interface ApproxRun {
  bound: number;
  family: string;
  model: string;
  info: LossyInfo;
  stored: boolean;
}

export interface ApproxBoundResult {
  bound: number;
  storedBytes: number;
  runs: ApproxRun[];
}

export interface ApproxReport {
  losslessStoredBytes: number;
  bounds: ApproxBoundResult[];
  /** Per fine-tuned model at TIMED_BOUND: one `tessera approx` and one `tessera import` process each (medians of the rounds). */
  cli?: { model: string; approxSeconds: number; importSeconds: number }[];
  /** Per fine-tuned model at TIMED_BOUND: the search's seconds (median of the rounds, each in a fresh copy of the lossless store) and the import's. */
  timing: { model: string; searchSeconds: number; importSeconds: number; evaluations: number }[];
  keptStore?: string;
}

const nameOf = (family: string, file: string): string => `${family}-${file}`;

async function importLossless(corpus: string, location: string): Promise<Map<string, number>> {
  const seconds = new Map<string, number>();
  const store = await Store.open(location);
  try {
    for (const family of FAMILIES) {
      for (const m of MODELS) {
        const t0 = performance.now();
        await store.import(join(corpus, family, `${m.file}.onnx`), { name: nameOf(family, m.file) });
        seconds.set(nameOf(family, m.file), (performance.now() - t0) / 1000);
      }
    }
  } finally {
    await store.close();
  }
  return seconds;
}

export async function benchApprox(opts: ApproxBenchOptions): Promise<{ text: string; report?: ApproxReport }> {
  const corpus = resolve(opts.repoRoot, '../shared/corpus/trained-digits');
  if (!existsSync(join(corpus, 'eval'))) return { text: `approximate dedup: skipped (${corpus} is absent)` };
  const { log } = opts;
  const lossless = join(opts.tmp, 'approx-lossless.db');
  const importTimes = new Map<string, number[]>();
  for (let r = 0; r < Math.max(1, opts.rounds); r++) {
    rmSync(lossless, { force: true });
    log(`approx: lossless import, round ${r + 1}/${opts.rounds} …`);
    for (const [k, s] of await importLossless(corpus, lossless)) importTimes.set(k, [...importTimes.get(k) ?? [], s]);
  }
  const storeOf = async (loc: string): Promise<number> => {
    const s = await Store.open(loc);
    try {
      return (await s.totals()).storedBytes;
    } finally {
      await s.close();
    }
  };
  const report: ApproxReport = { losslessStoredBytes: await storeOf(lossless), bounds: [], timing: [] };
  // The dashboard's store: the lossless family and the lossy versions of every bound side by side.
  report.keptStore = join(tmpdir(), 'tessera-bench-approx.db');
  copyFileSync(lossless, report.keptStore);
  const shown = await Store.open(report.keptStore);
  const data = new Map<string, ReturnType<typeof readEvalData>>();
  const evalOf = (x: string) => data.get(x) ?? data.set(x, readEvalData(join(corpus, 'eval', `${x}.npy`))).get(x)!;

  try {
    for (const bound of BOUNDS) {
      const loc = join(opts.tmp, `approx-${bound}.db`);
      copyFileSync(lossless, loc);
      const store = await Store.open(loc);
      const runs: ApproxRun[] = [];
      try {
        for (const family of FAMILIES) {
          for (const m of MODELS.filter((x) => x.fineTuned)) {
            const x = evalOf(m.x);
            const labels = readLabels(join(corpus, 'eval', `${m.y}.npy`), x.rows);
            const name = nameOf(family, m.file);
            log(`approx: ${name} at ${(bound * 100).toFixed(1)}% …`);
            const r = await approximate(store, { name, version: 1 }, x, labels, { maxDrop: bound });
            runs.push({ bound, family, model: name, info: r.info, stored: r.stored !== undefined });
            await approximate(shown, { name, version: 1 }, x, labels, { maxDrop: bound });
          }
        }
        // A user who keeps the lossy versions removes the lossless ones, and gc frees what only they needed.
        for (const r of runs) if (r.stored) await store.remove({ name: r.model, version: 1 });
        await store.gc();
      } finally {
        await store.close();
      }
      report.bounds.push({ bound, storedBytes: await storeOf(loc), runs });
      rmSync(loc, { force: true });
    }
  } finally {
    await shown.close();
  }

  // The search's time: per model, the median of the rounds, each in a fresh copy of the lossless store (the first search in a store, sketches included).
  const timed = join(opts.tmp, 'approx-timed.db');
  const searches = new Map<string, { seconds: number[]; evaluations: number }>();
  for (let round = 0; round < Math.max(1, opts.rounds); round++) {
    log(`approx: timing the search at ${(TIMED_BOUND * 100).toFixed(1)}%, round ${round + 1}/${opts.rounds} …`);
    for (const family of FAMILIES) {
      for (const m of MODELS.filter((x) => x.fineTuned)) {
        const name = nameOf(family, m.file);
        copyFileSync(lossless, timed);
        const store = await Store.open(timed);
        try {
          const x = evalOf(m.x);
          const t0 = performance.now();
          const r = await approximate(store, { name, version: 1 }, x, readLabels(join(corpus, 'eval', `${m.y}.npy`), x.rows), { maxDrop: TIMED_BOUND });
          const seconds = (performance.now() - t0) / 1000;
          const e = searches.get(name) ?? { seconds: [], evaluations: r.info.evaluations };
          e.seconds.push(seconds);
          searches.set(name, e);
        } finally {
          await store.close();
        }
      }
    }
  }
  for (const [model, e] of searches) report.timing.push({ model, searchSeconds: median(e.seconds), importSeconds: median(importTimes.get(model)!), evaluations: e.evaluations });

  // What a user runs: one process per call, each in a fresh copy of the lossless store; the import
  // is the model's file again under a new name (mostly deduplicated: the cheapest import, the strictest ratio).
  const cliStore = join(opts.tmp, 'approx-cli.db');
  const tessera = join(opts.repoRoot, 'bin/tessera.js');
  const cli = new Map<string, { approx: number[]; import: number[] }>();
  for (let round = 0; round < Math.max(1, opts.rounds); round++) {
    log(`approx: one CLI call per model, round ${round + 1}/${opts.rounds} …`);
    for (const family of FAMILIES) {
      for (const m of MODELS.filter((x) => x.fineTuned)) {
        const name = nameOf(family, m.file);
        const e = cli.get(name) ?? { approx: [], import: [] };
        cli.set(name, e);
        copyFileSync(lossless, cliStore);
        const t0 = performance.now();
        await run(process.execPath, [tessera, '--store', cliStore, 'import', join(corpus, family, `${m.file}.onnx`), '--name', 'cli-import-check']);
        e.import.push((performance.now() - t0) / 1000);
        const t1 = performance.now();
        await run(process.execPath, [tessera, '--store', cliStore, 'approx', `${name}:1`, '--eval', join(corpus, 'eval', `${m.x}.npy`),
          '--labels', join(corpus, 'eval', `${m.y}.npy`), '--max-drop', `${TIMED_BOUND * 100}%`, '--quiet']);
        e.approx.push((performance.now() - t1) / 1000);
      }
    }
  }
  report.cli = [...cli].map(([model, e]) => ({ model, approxSeconds: median(e.approx), importSeconds: median(e.import) }));
  return { text: render(report), report };
}

const pts = (x: number): string => `${(x * 100).toFixed(2)}`;

function render(r: ApproxReport): string {
  const out: string[] = [];
  out.push('Approximate dedup: trained-digits mlp + conv ONNX families (16 models), fine-tuned models approximated with their own data,');
  out.push('the lossless fine-tuned versions then removed (gc); drop = accuracy points, held-out half of the 1,797 rows (seed 1)');
  const rows: (string | number)[][] = [['lossless tessera', '-', int(r.losslessStoredBytes), '100.0%', '-', '-', '-', '-']];
  for (const b of r.bounds) {
    const held = b.runs.map((x) => x.info.drop.heldOut);
    const replaced = b.runs.reduce((n, x) => n + x.info.blocks.replaced, 0);
    const total = b.runs.reduce((n, x) => n + x.info.blocks.total, 0);
    const saved = 1 - b.storedBytes / r.losslessStoredBytes;
    const ok = b.bound <= TARGET.atDrop ? (saved >= TARGET.bytesBelowLossless && Math.max(...held) <= b.bound ? 'MET' : 'MISSED') : '';
    rows.push([`approx, bound ${(b.bound * 100).toFixed(1)}%`, `${replaced}/${total}`, int(b.storedBytes), pct(b.storedBytes, r.losslessStoredBytes),
      `${(saved * 100).toFixed(1)}%`, pts(Math.max(...held)), pts(held.reduce((a, x) => a + x, 0) / held.length), ok]);
  }
  out.push(table(['store', '>blocks replaced', '>stored bytes', '>% of lossless', '>fewer bytes', '>max held-out drop', '>mean held-out drop', `>target (>= ${TARGET.bytesBelowLossless * 100}% fewer at <= 1%)`], rows));
  out.push('');
  out.push('per model (held-out drop in accuracy points; before -> after on the held-out rows; search time includes storing the lossy version):');
  const per: (string | number)[][] = [];
  for (const b of r.bounds) {
    for (const x of b.runs) {
      const i = x.info;
      per.push([`${(b.bound * 100).toFixed(1)}%`, x.model, `${pts(i.before.heldOut)} -> ${pts(i.after.heldOut)}`, pts(i.drop.search), pts(i.drop.heldOut),
        `${i.blocks.replaced}/${i.blocks.total}`, int(i.savedStoredBytes), int(i.losslessUniqueStoredBytes), i.evaluations, i.seconds.toFixed(2)]);
    }
  }
  out.push(table(['bound', 'model', 'accuracy held-out', '>drop search', '>drop held-out', '>blocks', '>freed bytes', '>lossless unique bytes', '>evals', '>search s'], per));
  out.push('');
  out.push(`search time at the ${(TIMED_BOUND * 100).toFixed(0)}% bound, in-process, each round in a fresh copy of the lossless store (the first search there: sketches included), beside the model's import (in-process; medians of the rounds):`);
  const ratios = r.timing.map((t) => t.searchSeconds / t.importSeconds);
  out.push(table(['model', '>evals', '>search s', '>import s', '>search / import', `>target (<= ${TARGET.searchVsImport}x)`], r.timing.map((t, k) => [
    t.model, t.evaluations, t.searchSeconds.toFixed(3), t.importSeconds.toFixed(3), `${ratios[k]!.toFixed(1)}x`, ratios[k]! <= TARGET.searchVsImport ? 'MET' : 'MISSED'])));
  out.push(`median ${median(ratios).toFixed(1)}x, max ${Math.max(...ratios).toFixed(1)}x; ${ratios.filter((x) => x <= TARGET.searchVsImport).length} of ${ratios.length} models within ${TARGET.searchVsImport}x`);
  if (r.cli) {
    out.push('');
    out.push(`as a user runs it: one process per call (start included), at the ${(TIMED_BOUND * 100).toFixed(0)}% bound, each in a fresh copy of the lossless store (medians of the rounds):`);
    const cliRatios = r.cli.map((c) => c.approxSeconds / c.importSeconds);
    out.push(table(['model', '>tessera approx s', '>tessera import s', '>approx / import', `>target (<= ${TARGET.searchVsImport}x)`], r.cli.map((c, k) => [
      c.model, c.approxSeconds.toFixed(2), c.importSeconds.toFixed(2), `${cliRatios[k]!.toFixed(1)}x`, cliRatios[k]! <= TARGET.searchVsImport ? 'MET' : 'MISSED'])));
    out.push(`median ${median(cliRatios).toFixed(1)}x, max ${Math.max(...cliRatios).toFixed(1)}x; ${cliRatios.filter((x) => x <= TARGET.searchVsImport).length} of ${cliRatios.length} models within ${TARGET.searchVsImport}x`);
  }
  if (r.keptStore) out.push(`the family with its lossy versions at every bound, for the dashboard's "Lossy versions" chart: tessera --store ${r.keptStore} serve`);
  return out.join('\n');
}
