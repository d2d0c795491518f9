/**
 * A lossy version for the tests of every view that must mark one (ls, show,
 * export, the store API, OIP metadata, downloads, the Hub, the dashboard):
 * a small servable ONNX model as version 1 (lossless) and another as
 * version 2, imported with a fixed lossy record as `tessera approx` would.
 * The record's figures are chosen so each formatted text is known exactly.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../../src/store/store.js';
import type { LossyInfo } from '../../src/wire/lossy.js';
import { mlpModel } from '../serve/mlp-model.js';

/**
 * The record of a lossy version of `from`: accuracy 90.80% → 90.40% held out
 * (drop 0.40 pt, bound 1.00 pt), 12 of 40 blocks, 512 KiB saved of 2 MiB
 * (so it stores 75% of its lossless version's bytes).
 */
export function lossyFixture(from: string): LossyInfo {
  return {
    from, metric: 'accuracy', maxDrop: 0.01,
    before: { search: 0.912, heldOut: 0.908 },
    after: { search: 0.909, heldOut: 0.904 },
    drop: { search: 0.003, heldOut: 0.004 },
    rows: { search: 500, heldOut: 250 },
    blocks: { replaced: 12, candidates: 15, total: 40, blockBytes: 65536 },
    replacedRawBytes: 786_432,
    savedStoredBytes: 524_288,
    losslessUniqueStoredBytes: 2_097_152,
    evaluations: 25,
    seconds: 12.34,
  };
}

export interface LossyPair {
  /** name:1, lossless, and name:2, lossy. */
  lossless: string;
  lossy: string;
  info: LossyInfo;
  /** The files imported (each stored as model.onnx). */
  losslessFile: string;
  lossyFile: string;
}

/** Imports `name`:1 (lossless) and `name`:2 (a lossy version of it) into `store`, their files written under `dir`. */
export async function importLossyPair(store: Store, dir: string, name = 'mlp'): Promise<LossyPair> {
  const file = (version: number, seed: number): string => {
    const d = join(dir, `${name.replace(/\//g, '_')}-v${version}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'model.onnx'), mlpModel([16, 32, 4], seed));
    return join(d, 'model.onnx');
  };
  const losslessFile = file(1, 31);
  const lossyFile = file(2, 37);
  const info = lossyFixture(`${name}:1`);
  await store.import(losslessFile, { name });
  await store.import(lossyFile, { name, lossy: info });
  return { lossless: `${name}:1`, lossy: `${name}:2`, info, losslessFile, lossyFile };
}
