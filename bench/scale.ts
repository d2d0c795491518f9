/**
 * Does an import cost more in a bigger store? (issue 15, item 2.) One store
 * is filled with small fine-tunes of one architecture (bench/synthetic.ts
 * FineTunes: same tensor names, shapes and dtype, so every stored model is a
 * candidate base), and at each size N asked for, the same two models are
 * imported into a copy of it, each on a fresh copy, in-process and by a
 * `tessera import` process:
 *
 *   sibling   one more fine-tune of that architecture (20 KB): every stored
 *             model is a candidate base by name, shape and dtype
 *   wider     the same architecture 8 times wider (~1 MB): the same tensor
 *             names, other shapes
 *
 * The fillers are imported in-process with deltas off (`base: null`, as
 * `--no-delta`): with base selection on, each filler import scans the models
 * already stored, so building 10,000 would take hours (the build's log says
 * what one such import costs at each size). The measured imports run with
 * the default (base selection on).
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sqliteFiles } from '../src/backends/sqlite/files.js';
import { Store } from '../src/store/store.js';
import { run } from './proc.js';
import { FineTunes } from './synthetic.js';
import { timed, timing } from './timing.js';
import type { Timing } from './timing.js';

export interface ScaleMeasure {
  inProcess: Timing;
  cli: Timing;
  /** The base the in-process import picked (name:version), or null. */
  base: string | null;
}

export interface ScaleRow {
  models: number;
  dbBytes: number;
  /** Seconds the fillers up to this size took to import (all of them, from an empty store). */
  buildS: number;
  sibling: ScaleMeasure;
  wider: ScaleMeasure;
}

export interface ScaleReport {
  fillerBytes: number;
  siblingBytes: number;
  widerBytes: number;
  rows: ScaleRow[];
  /** One filler import with base selection on, at each size: what building with it would cost. */
  withDeltaS: { models: number; seconds: number }[];
}

/**
 * Copies a store and flushes the copy to disk: otherwise the measured
 * import's commit (an fsync of the database file) would also write back the
 * whole copy just made, a cost that grows with the store (~150 ms for the
 * 272 MB of 10,000 models) and is the copy's, not the import's.
 */
function copyStore(from: string, to: string): void {
  const dst = sqliteFiles(to);
  sqliteFiles(from).forEach((src, i) => {
    rmSync(dst[i]!, { force: true });
    if (!existsSync(src)) return;
    copyFileSync(src, dst[i]!);
    const fd = openSync(dst[i]!, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

function removeStore(path: string): void {
  for (const f of sqliteFiles(path)) rmSync(f, { force: true });
}

async function measure(db: string, copy: string, model: string, tesseraJs: string, repeat: number): Promise<ScaleMeasure> {
  const inProcess: number[] = [];
  const cli: number[] = [];
  let base: string | null = null;
  for (let i = 0; i < repeat; i++) {
    copyStore(db, copy);
    const store = await Store.open(copy);
    try {
      const r = await timed(() => store.import(model, { name: 'measured' }));
      inProcess.push(r.seconds);
      base = r.value.base ? `${r.value.base.name}:${r.value.base.version}` : null;
    } finally {
      await store.close();
    }
    copyStore(db, copy);
    cli.push((await timed(() => run(process.execPath, [tesseraJs, '--store', copy, 'import', model, '--name', 'measured']))).seconds);
  }
  removeStore(copy);
  return { inProcess: timing(inProcess), cli: timing(cli), base };
}

export async function benchScale(
  sizes: number[], tmp: string, tesseraJs: string, repeat: number, log: (s: string) => void,
): Promise<ScaleReport> {
  const dir = join(tmp, 'scale');
  mkdirSync(join(dir, 'sibling'), { recursive: true });
  mkdirSync(join(dir, 'wider'), { recursive: true });
  const fillers = new FineTunes(8, 4);
  const wide = new FineTunes(64, 4);
  // Every model holds one file of the same name, as fine-tunes published side by side do.
  const filler = join(dir, 'model.safetensors');
  const sibling = join(dir, 'sibling', 'model.safetensors');
  const wider = join(dir, 'wider', 'model.safetensors');
  fillers.write(sibling, 999_999);
  wide.write(wider, 1);
  const db = join(dir, 'store.db');
  const copy = join(dir, 'copy.db');
  const rows: ScaleRow[] = [];
  const withDeltaS: { models: number; seconds: number }[] = [];
  let count = 0;
  let buildS = 0;
  try {
    for (const n of sizes) {
      const store = await Store.open(db);
      try {
        let lap = performance.now();
        let lapFrom = count;
        while (count < n) {
          fillers.write(filler, ++count);
          const t0 = performance.now();
          await store.import(filler, { name: `ft-${count}`, base: null });
          buildS += (performance.now() - t0) / 1000;
          if (count % 1000 === 0 || count === n) {
            const now = performance.now();
            log(`  scale: ${count} models stored (${((now - lap) / (count - lapFrom)).toFixed(1)} ms a model since ${lapFrom})`);
            lap = now;
            lapFrom = count;
          }
        }
      } finally {
        await store.close();
      }
      // What one more filler costs with base selection on, at this size (on a copy, so the store stays as built).
      fillers.write(filler, 888_888);
      copyStore(db, copy);
      const probe = await Store.open(copy);
      try {
        withDeltaS.push({ models: n, seconds: (await timed(() => probe.import(filler, { name: 'probe' }))).seconds });
      } finally {
        await probe.close();
      }
      log(`  scale: measuring at ${n} models …`);
      rows.push({
        models: n, dbBytes: statSync(db).size, buildS,
        sibling: await measure(db, copy, sibling, tesseraJs, repeat),
        wider: await measure(db, copy, wider, tesseraJs, repeat),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { fillerBytes: fillers.bytes, siblingBytes: fillers.bytes, widerBytes: wide.bytes, rows, withDeltaS };
}
