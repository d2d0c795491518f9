/**
 * A small model family for the tests of `tessera approx` (the engine's and the
 * command's): a base MLP and a "fine-tune" of it (every float32 weight moved a
 * few percent), evaluation rows as a .npy file, and labels (the fine-tune's
 * own top-1 on every row, so its accuracy is 100%) as a JSON array.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readEvalData, readLabels } from '../../src/approx/eval-data.js';
import type { EvalData } from '../../src/approx/eval-data.js';
import { onnxReader } from '../../src/formats/index.js';
import { BufferSource } from '../../src/io/file-source.js';
import { prng } from './store-fixtures.js';
import { valuesOf } from '../../src/approx/sketch.js';
import { f32ToBF16Bits, f32ToF16Bits } from '../../src/codec/cast.js';
import { mlpModel } from '../serve/mlp-model.js';

/** The MLP's layer sizes: input `x` [n, 16], output `y` [n, 4] (four classes). */
export const SIZES = [16, 128, 64, 4];
/** Chunk size the base is imported with: small enough for a model of this size to have many blocks. */
export const CHUNK = 4096;

/** `bytes` with every float tensor value (F32, F16, BF16) multiplied by (1 + scale · u), u uniform in [-1, 1]. */
export function perturbed(bytes: Buffer, scale: number, seed: number): Buffer {
  const out = Buffer.from(bytes);
  const r = prng(seed);
  const move = (v: number): number => v * (1 + scale * (r() / 2 ** 31 - 1));
  const word = new Float32Array(1);
  const bits = new Int32Array(word.buffer);
  for (const s of onnxReader.read(new BufferSource('model.onnx', bytes)).segments) {
    if (s.kind !== 'tensor') continue;
    if (s.dtype === 'F32') {
      for (let o = s.offset; o + 4 <= s.offset + s.length; o += 4) out.writeFloatLE(move(out.readFloatLE(o)), o);
    } else if (s.dtype === 'F16' || s.dtype === 'BF16') {
      const values = valuesOf(out.subarray(s.offset, s.offset + s.length), s.dtype);
      for (let i = 0; i < values.length; i++) {
        word[0] = move(values[i]!);
        out.writeUInt16LE(s.dtype === 'F16' ? f32ToF16Bits(bits[0]!) : f32ToBF16Bits(bits[0]!), s.offset + 2 * i);
      }
    }
  }
  return out;
}

/** A version 1.0 .npy file of `data` (little-endian bytes of dtype `descr`, e.g. '<f4', '|i1'), C order. */
export function npyBytes(descr: string, shape: readonly number[], data: Uint8Array): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.alloc(2), Buffer.from(header + ' '.repeat(pad) + '\n')]);
  head.writeUInt16LE(head.length - 10, 8);
  return Buffer.concat([head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** `rows` × `cols` uniform inputs in [0, 1), deterministic in `seed`. */
export function uniformRows(rows: number, cols: number, seed: number): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: rows * cols }, () => r() / 2 ** 32);
}

/** Rows of uniform inputs, written as a float32 .npy file; returns the values. */
export function npy(path: string, rows: number, cols: number, seed: number): Float32Array {
  const data = uniformRows(rows, cols, seed);
  writeFileSync(path, npyBytes('<f4', [rows, cols], new Uint8Array(data.buffer)));
  return data;
}

/** The top-1 class of `model` (an MLP of SIZES) on the given rows of `x`. */
export async function top1(model: Uint8Array, x: Float32Array, rows: number[]): Promise<number[]> {
  const s = await ort.InferenceSession.create(model);
  const cols = SIZES[0]!;
  const sub = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => sub.set(x.subarray(r * cols, (r + 1) * cols), i * cols));
  const out = (await s.run({ x: new ort.Tensor('float32', sub, [rows.length, cols]) })).y!.data as Float32Array;
  await s.release();
  const k = SIZES.at(-1)!;
  return rows.map((_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (out[i * k + j]! > out[i * k + best]!) best = j;
    return best;
  });
}

export interface Family {
  base: Buffer;
  tuned: Buffer;
  /** The evaluation rows, `rows` × SIZES[0]. */
  x: Float32Array;
  rows: number;
  data: EvalData;
  labels: Int32Array;
  /** dir/base.onnx and dir/tuned.onnx. */
  basePath: string;
  tunedPath: string;
  /** dir/x.npy: the rows. */
  xPath: string;
  /** dir/y.json: the tuned model's top-1 on every row, a JSON array. */
  labelsPath: string;
}

/**
 * Writes the family into `dir`: base.onnx, tuned.onnx (every weight moved up
 * to 4%), x.npy (`rows` rows) and y.json; `weights` keeps the MatMul weights
 * in half precision.
 */
export async function family(dir: string, rows = 600, weights?: 'F16' | 'BF16'): Promise<Family> {
  const base = mlpModel(SIZES, 11, { weights });
  const tuned = perturbed(base, 0.04, 5);
  const xPath = join(dir, 'x.npy');
  const x = npy(xPath, rows, SIZES[0]!, 3);
  const all = Array.from({ length: rows }, (_, i) => i);
  const labelsPath = join(dir, 'y.json');
  writeFileSync(labelsPath, JSON.stringify(await top1(tuned, x, all)));
  const basePath = join(dir, 'base.onnx');
  const tunedPath = join(dir, 'tuned.onnx');
  writeFileSync(basePath, base);
  writeFileSync(tunedPath, tuned);
  const data = readEvalData(xPath);
  return { base, tuned, x, rows, data, labels: readLabels(labelsPath, data.rows), basePath, tunedPath, xPath, labelsPath };
}

export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
