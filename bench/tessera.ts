import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreTotals } from '../src/backends/backend.js';
import type { ModelRef } from '../src/store/model-ref.js';
import { Store } from '../src/store/store.js';
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
  runs: RunTimes[];
}

/** Prefix of the names the re-import uses: the same files under other names. */
const AGAIN = 'again/';

async function oneRun(
  site: StoreSite, corpus: Corpus, chunkSize: number | undefined, withReimport: boolean, exportRoot: string,
): Promise<{ times: RunTimes; backend: string; chunkSize: number; totals: StoreTotals; totalsAfterReimport?: StoreTotals; reimportNewChunks?: number }> {
  const { store, done } = await site.fresh();
  try {
    const refs: ModelRef[] = [];
    // Files of one stem (x.onnx, x.safetensors) get one name, so they become versions 1, 2… of it: keep the version.
    const imp = await timed(async () => {
      for (const m of corpus.models) {
        const r = await store.import(m.abs, { name: m.name, chunkSize });
        refs.push({ name: r.model.name, version: r.model.version });
      }
    });
    const totals = await store.totals();
    const times: RunTimes = { importS: imp.seconds, exportS: 0 };
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
      for (let i = 0; i < refs.length; i++) await store.export(refs[i]!, dirs[i]!);
    });
    times.exportS = exp.seconds;
    rmSync(exportRoot, { recursive: true, force: true });
    return { times, backend: store.backend.kind, chunkSize: await store.chunkSize(chunkSize), totals, totalsAfterReimport, reimportNewChunks };
  } finally {
    await done();
  }
}

/**
 * `repeat` runs, each on an empty store: import the corpus, optionally import
 * it again under other names, export every model. Sizes come from the first
 * run (they are the same every run); timings are the medians.
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
    import: timing(runs.map((r) => r.importS)),
    reimport: opts.reimport ? timing(runs.map((r) => r.reimportS!)) : undefined,
    export: timing(runs.map((r) => r.exportS)),
    runs,
  };
}
