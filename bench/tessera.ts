import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreTotals } from '../src/backends/backend.js';
import type { ModelRef } from '../src/store/model-ref.js';
import { formatModelRef } from '../src/store/model-ref.js';
import { Store } from '../src/store/store.js';
import type { ModelSummary } from '../src/store/store.js';
import { openBackend } from '../src/backends/open.js';
import { sqliteFiles } from '../src/backends/sqlite/files.js';
import { storeBreakdown } from './breakdown.js';
import type { Breakdown } from './breakdown.js';
import type { Corpus } from './corpus.js';
import { timed, timing } from './timing.js';
import type { Timing } from './timing.js';

/**
 * Where Tessera's runs keep their store. By default every run gets a new
 * SQLite file in the bench's temp dir, so each import starts from an empty
 * store. With --store the location is handed to Store.open as given (an SQLite
 * path today, a PostgreSQL URL later); since such a store cannot be deleted,
 * it must start empty and every run empties it again (remove all models, gc).
 */
export class StoreSite {
  private runs = 0;

  constructor(private readonly location: string | undefined, private readonly tmp: string) {}

  describe(): string {
    return this.location === undefined ? 'a new SQLite file per run in a temp dir' : `${this.location} (emptied between runs)`;
  }

  /**
   * An empty store's location for runs in other processes (`tessera import
   * --store LOCATION`), and what to call after: for SQLite a new file, removed
   * after; with --store the given store, checked empty before and emptied after.
   * `bytes()` is what the store takes on disk (SQLite: the file and its
   * journal files; with --store, undefined).
   */
  async freshLocation(): Promise<{ location: string; bytes: () => number | undefined; done: () => Promise<void> }> {
    if (this.location === undefined) {
      const path = join(this.tmp, `store-${++this.runs}.db`);
      const files = sqliteFiles(path);
      return {
        location: path,
        bytes: () => files.reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0),
        done: async () => { for (const f of files) rmSync(f, { force: true }); },
      };
    }
    // Checked empty here (fresh() refuses a store that holds models); the other process opens it itself.
    await (await this.fresh()).store.close();
    const location = this.location;
    return {
      location,
      bytes: () => undefined,
      done: async () => {
        const store = await Store.open(location);
        for (const m of await store.list()) await store.remove({ name: m.name, version: m.version });
        await store.gc();
        await store.close();
      },
    };
  }

  async fresh(): Promise<{ store: Store; done: () => Promise<void> }> {
    if (this.location === undefined) {
      const path = join(this.tmp, `store-${++this.runs}.db`);
      const store = await Store.open(path);
      return {
        store,
        done: async () => {
          await store.close();
          for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
        },
      };
    }
    const store = await Store.open(this.location);
    if ((await store.list()).length > 0) {
      await store.close();
      throw new Error(`--store ${this.location}: the store holds models; the bench needs an empty store (it empties it between runs)`);
    }
    return {
      store,
      done: async () => {
        for (const m of await store.list()) await store.remove({ name: m.name, version: m.version });
        await store.gc();
        await store.close();
      },
    };
  }
}

export interface RunTimes {
  importS: number;
  reimportS?: number;
  exportS: number;
  /** Per model, in import order: its import, and its export. */
  modelImportS: number[];
  modelExportS: number[];
}

/**
 * One model of the corpus: how it was stored (as counted at its import,
 * `store.stats().perModel`) and its own import and export times.
 */
export interface ModelResult {
  /** name:version */
  ref: string;
  logicalBytes: number;
  deduplicatedBytes: number;
  compressionSavedBytes: number;
  deltaSavedBytes: number;
  /** Payload bytes of the chunks this model was first to store. */
  storedBytes: number;
  /** Raw bytes of those chunks stored as deltas, and their payload. */
  deltaRawBytes: number;
  deltaStoredBytes: number;
  /** The model its deltas were taken against, or null. */
  base: string | null;
  /**
   * Raw bytes of the model's chunks (each time a file uses one) that decode
   * against a base, whichever import stored them: what its export decodes
   * as deltas. A second version of a delta-coded model stores nothing new
   * but reads as many deltas.
   */
  deltaReadBytes: number;
  import: Timing;
  export: Timing;
}

export interface TesseraResult {
  /** Which backend the store ran on ('sqlite' now, 'postgres' later). */
  backend: string;
  chunkSize: number;
  /** After the first import of the corpus. */
  totals: StoreTotals;
  /** After the re-import under other names (main measurement only). */
  totalsAfterReimport?: StoreTotals;
  /** Chunks the re-import wrote: 0 when dedup works. */
  reimportNewChunks?: number;
  import: Timing;
  reimport?: Timing;
  export: Timing;
  /** Per model, in import order (sizes from the first run, times the medians). */
  models: ModelResult[];
  /** Where the bytes went, by file format and by codec (first run). */
  breakdown: Breakdown;
  runs: RunTimes[];
}

type ModelSizes = Omit<ModelResult, 'import' | 'export'>;

/** Prefix of the names the re-import uses: the same files under other names. */
const AGAIN = 'again/';

async function oneRun(
  site: StoreSite, corpus: Corpus, chunkSize: number | undefined, withReimport: boolean, exportRoot: string,
): Promise<{
  times: RunTimes; backend: string; chunkSize: number; totals: StoreTotals; totalsAfterReimport?: StoreTotals; reimportNewChunks?: number;
  models: ModelSizes[]; breakdown: Breakdown;
}> {
  const { store, done } = await site.fresh();
  try {
    const refs: ModelRef[] = [];
    const modelImportS: number[] = [];
    // Files of one stem (x.onnx, x.safetensors) get one name, so they become versions 1, 2… of it: keep the version.
    const imp = await timed(async () => {
      for (const m of corpus.models) {
        const one = await timed(() => store.import(m.abs, { name: m.name, chunkSize }));
        refs.push({ name: one.value.model.name, version: one.value.model.version });
        modelImportS.push(one.seconds);
      }
    });
    const totals = await store.totals();
    const models = await modelSizes(store, refs);
    const breakdown = await storeBreakdown(store, refs);
    const times: RunTimes = { importS: imp.seconds, exportS: 0, modelImportS, modelExportS: [] };
    let totalsAfterReimport: StoreTotals | undefined;
    let reimportNewChunks: number | undefined;
    if (withReimport) {
      const again = await timed(async () => {
        let fresh = 0;
        for (const m of corpus.models) fresh += (await store.import(m.abs, { name: AGAIN + m.name, chunkSize })).newChunks;
        return fresh;
      });
      times.reimportS = again.seconds;
      reimportNewChunks = again.value;
      totalsAfterReimport = await store.totals();
    }
    rmSync(exportRoot, { recursive: true, force: true });
    // One directory per model: export places the model's files (by their stored paths) inside it.
    const dirs = refs.map((_, i) => join(exportRoot, String(i)));
    for (const d of dirs) mkdirSync(d, { recursive: true });
    const exp = await timed(async () => {
      for (let i = 0; i < refs.length; i++) {
        // Every export starts with an empty cache of decoded base chunks, as `tessera export` in a new process:
        // otherwise a delta model's time would depend on what the imports and the previous exports left in it.
        store.dropCaches();
        times.modelExportS.push((await timed(() => store.export(refs[i]!, dirs[i]!))).seconds);
      }
    });
    times.exportS = exp.seconds;
    rmSync(exportRoot, { recursive: true, force: true });
    return { times, backend: store.kind, chunkSize: await store.chunkSize(chunkSize), totals, totalsAfterReimport, reimportNewChunks, models, breakdown };
  } finally {
    await done();
  }
}

/**
 * How each model was stored, in the order of `refs`: store.stats().perModel,
 * the raw bytes its import coded as deltas (the model rows), and the bytes
 * its export decodes as deltas (its chunks).
 */
async function modelSizes(store: Store, refs: ModelRef[]): Promise<ModelSizes[]> {
  const stats = new Map((await store.stats()).perModel.map((m) => [m.model, m]));
  const rows = new Map((await store.list()).map((m) => [formatModelRef(m.name, m.version), m]));
  // Which chunks are deltas is the database's business, not the store's API: the bench reads it directly.
  const db = await openBackend(store.location);
  const deltaBytes = async (row: ModelSummary): Promise<number> => {
    let n = 0;
    for (const f of await store.files(row)) {
      for (const c of await db.chunkInfo(await db.fileChunkIds(f.id))) if (c.bases.length > 0) n += c.rawSize;
    }
    return n;
  };
  try {
    const out: ModelSizes[] = [];
    for (const r of refs) {
      const ref = formatModelRef(r.name, r.version!);
      const s = stats.get(ref);
      const row = rows.get(ref);
      if (!s || !row) throw new Error(`bench: ${ref} is missing from the store's stats`);
      out.push({
        ref, logicalBytes: s.logicalBytes, deduplicatedBytes: s.deduplicatedBytes, compressionSavedBytes: s.compressionSavedBytes,
        deltaSavedBytes: s.deltaSavedBytes, storedBytes: s.storedBytes, deltaRawBytes: row.deltaRawBytes, deltaStoredBytes: row.deltaStoredBytes,
        base: s.base, deltaReadBytes: await deltaBytes(row),
      });
    }
    return out;
  } finally {
    await db.close();
  }
}

/**
 * `repeat` runs, each on an empty store: import the corpus, optionally import
 * it again under other names, export every model. Sizes come from the first
 * run (they are the same every run); timings are the medians, for the corpus
 * and for each model.
 */
export async function measureTessera(
  site: StoreSite, corpus: Corpus, tmp: string, opts: { chunkSize?: number; reimport: boolean; repeat: number; log: (s: string) => void },
): Promise<TesseraResult> {
  const runs: RunTimes[] = [];
  let first: Awaited<ReturnType<typeof oneRun>> | undefined;
  for (let i = 0; i < opts.repeat; i++) {
    const r = await oneRun(site, corpus, opts.chunkSize, opts.reimport, join(tmp, 'export'));
    first ??= r;
    runs.push(r.times);
    opts.log(`  run ${i + 1}/${opts.repeat}: import ${r.times.importS.toFixed(2)} s${r.times.reimportS !== undefined ? `, re-import ${r.times.reimportS.toFixed(2)} s` : ''}, export ${r.times.exportS.toFixed(2)} s`);
  }
  const f = first!;
  return {
    backend: f.backend, chunkSize: f.chunkSize, totals: f.totals, totalsAfterReimport: f.totalsAfterReimport, reimportNewChunks: f.reimportNewChunks,
    breakdown: f.breakdown,
    ...timings(f.models, runs, opts.reimport),
  };
}

/** The timings of a result from its runs: medians for the corpus and for each model. */
function timings(models: ModelSizes[], runs: RunTimes[], reimport: boolean): Pick<TesseraResult, 'import' | 'reimport' | 'export' | 'models' | 'runs'> {
  return {
    import: timing(runs.map((r) => r.importS)),
    reimport: reimport ? timing(runs.map((r) => r.reimportS!)) : undefined,
    export: timing(runs.map((r) => r.exportS)),
    models: models.map((m, i) => ({
      ...m, import: timing(runs.map((r) => r.modelImportS[i]!)), export: timing(runs.map((r) => r.modelExportS[i]!)),
    })),
    runs,
  };
}

/** Results of the same corpus measured in rounds (the bench interleaves them with the other tools) as one: sizes from the first, timings over all runs. */
export function mergeTessera(rs: TesseraResult[]): TesseraResult {
  const f = rs[0]!;
  return { ...f, ...timings(f.models, rs.flatMap((r) => r.runs), f.reimport !== undefined) };
}
