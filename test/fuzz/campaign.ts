import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../src/formats/errors.js';
import { segmentFile, validateCoverage } from '../../src/formats/index.js';
import { buildGguf } from '../helpers/build-gguf.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { buildTflite } from '../helpers/build-tflite.js';
import { buildTorchZip } from '../helpers/build-zip.js';
import { RecordingSource } from '../helpers/sources.js';
import { REPO_ROOT, VAD_MODELS, corpusDir, prng, randomWeights } from '../helpers/store-fixtures.js';

/**
 * Mutation fuzzing of every format reader on real and built files: bit flips,
 * extreme bytes, length fields set to huge values, truncations, deleted,
 * duplicated and overlapping ranges. Every case must end in a segmentation
 * that covers the file exactly or a FormatError naming the file: never another
 * exception, never a read larger than the bound (an allocation sized by the
 * input), never a hang.
 */

export interface Seed {
  /** The file name the reader sees (dispatch is by name and content). */
  name: string;
  bytes: Buffer;
}

export interface FuzzRow {
  format: string;
  seeds: number;
  cases: number;
  accepted: number;
  rejected: number;
  failures: string[];
  maxMs: number;
}

/** Largest single read a reader may ask for while parsing (headers, graphs): never the size a field claims. */
const MAX_READ = 16 << 20;

export function seeds(): Seed[] {
  const w = randomWeights(4096, 5);
  const out: Seed[] = [
    ...VAD_MODELS.map((p) => ({ name: p.split('/').pop()!, bytes: readFileSync(p) })),
    { name: 'model.safetensors', bytes: buildSafetensors([{ name: 'a', dtype: 'F32', shape: [64, 64], data: w }, { name: 'b', dtype: 'F16', shape: [16], data: w.subarray(0, 32) }], { k: 'v' }) },
    { name: 'model.gguf', bytes: buildGguf([{ name: 'a', type: 'F32', shape: [64, 64], data: w }, { name: 'q', type: 'Q8_0', shape: [64], data: Buffer.alloc(68, 3) }]) },
    { name: 'model.tflite', bytes: buildTflite([{ name: 'a', type: 0, shape: [64, 64], data: w }, { name: 'b', type: 2, shape: [4], data: w.subarray(0, 16), external: true }]).file },
    { name: 'model.pt', bytes: buildTorchZip([w, w.subarray(0, 1000)]).file },
    // Written by real torch and h5py (test/fixtures): the pickle machine and the HDF5 structures under mutation.
    { name: 'checkpoint.pt', bytes: readFileSync(join(REPO_ROOT, 'test/fixtures/pytorch/checkpoint.pt')) },
    { name: 'module.pt', bytes: readFileSync(join(REPO_ROOT, 'test/fixtures/pytorch/module.pt')) },
    { name: 'legacy.h5', bytes: readFileSync(join(REPO_ROOT, 'test/fixtures/keras/legacy.h5')) },
    { name: 'datasets-latest.h5', bytes: readFileSync(join(REPO_ROOT, 'test/fixtures/keras/datasets-latest.h5')) },
    { name: 'keras3.keras', bytes: readFileSync(join(REPO_ROOT, 'test/fixtures/keras/keras3.keras')) },
  ];
  const corpus = corpusDir();
  if (corpus) out.push({ name: 'base-ckpt3.safetensors', bytes: readFileSync(join(corpus, 'mlp/base-ckpt3.safetensors')) });
  return out;
}

/** One random mutation of `base` (bit flips, extreme bytes, huge length fields, truncations, deleted, duplicated and overlapping ranges). */
export function mutate(base: Buffer, r: () => number): Buffer {
  const b = Buffer.from(base);
  const at = r() % Math.max(1, b.length);
  switch (r() % 8) {
    case 0: b[at] ^= 1 << (r() % 8); return b;
    case 1: b[at] = [0x00, 0xff, 0x7f, 0x80][r() % 4]!; return b;
    case 2: // a length or offset field set huge
      b.fill(0xff, at, Math.min(b.length, at + [2, 4, 8][r() % 3]!)); return b;
    case 3: b.writeUInt32LE((r() % 2 ? 0x7fffffff : 0xffffffff) >>> 0, Math.min(at, Math.max(0, b.length - 4))); return b;
    case 4: return b.subarray(0, at); // truncation
    case 5: return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + (r() % 64)))]); // deleted range
    case 6: { // a range duplicated elsewhere
      const len = 1 + (r() % 256);
      return Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
    }
    default: { // an overlapping copy inside the file
      const len = 1 + (r() % 256);
      const to = r() % Math.max(1, b.length);
      b.copy(b, to, at, Math.min(b.length, at + len));
      return b;
    }
  }
}

/** Runs `casesPerSeed` mutants of every seed; returns one row per format. */
export function runCampaign(casesPerSeed: number, seed = 1): FuzzRow[] {
  const rows = new Map<string, FuzzRow>();
  const r = prng(seed);
  for (const s of seeds()) {
    const format = s.name.split('.').pop()!;
    const row = rows.get(format) ?? { format, seeds: 0, cases: 0, accepted: 0, rejected: 0, failures: [], maxMs: 0 };
    rows.set(format, row);
    row.seeds++;
    for (let i = 0; i < casesPerSeed; i++) {
      const bytes = mutate(s.bytes, r);
      const src = new RecordingSource(s.name, bytes, MAX_READ);
      const t0 = performance.now();
      try {
        const seg = segmentFile(src, s.name);
        validateCoverage(seg.segments, bytes.length, s.name);
        row.accepted++;
      } catch (e) {
        if (e instanceof FormatError && e.message.includes(s.name)) row.rejected++;
        else if (row.failures.length < 10) row.failures.push(`${s.name} case ${i}: ${(e as Error).name}: ${(e as Error).message}`);
      }
      row.maxMs = Math.max(row.maxMs, performance.now() - t0);
      row.cases++;
    }
  }
  return [...rows.values()];
}
