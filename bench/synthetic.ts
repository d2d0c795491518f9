import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { corpusFromPaths } from './corpus.js';
import type { Corpus } from './corpus.js';
import { binSize } from './units.js';

/**
 * A generated model family for throughput runs on big files: the shared
 * corpus is small enough that timer noise and per-file costs dominate.
 *
 * Three safetensors files of one transformer-like architecture, F32 weights
 * drawn from N(0, 0.02) (what initialised and lightly trained weights look
 * like byte-wise: random mantissas, a narrow band of exponents):
 *   base       the base model
 *   ft-head    "frozen backbone + new head": every tensor but the head and
 *              the final norm is byte-identical to the base
 *   unrelated  the same architecture from another seed: nothing shared
 */

interface TensorSpec {
  name: string;
  shape: number[];
  /** Seed of the tensor's values: equal seeds give byte-identical tensors. */
  seed: number;
  /** Norm weights sit around 1, everything else around 0. */
  mean: number;
}

export interface SyntheticFamily {
  corpus: Corpus;
  /** Raw bytes of tensors that differ between files, plus headers: what perfect tensor dedup would keep. */
  distinctTensorBytes: number;
  width: number;
  layers: number;
}

const STD = 0.02;

/** Architecture for a model of about `bytes`: width d, vocabulary 8d, 4 attention d×d and 2 MLP d×4d matrices a layer. */
function architecture(bytes: number): { d: number; layers: number } {
  // The widest model that still has a few layers, so tensors range from a few MiB to tens of MiB at 1 GiB.
  for (const d of [1024, 512, 256, 128]) {
    const fixed = 64 * d * d; // embedding and head, 8d × d F32 each
    const layer = 48 * d * d; // 12 d² F32
    if (bytes >= fixed + 2 * layer || d === 128) return { d, layers: Math.max(1, Math.round((bytes - fixed) / layer)) };
  }
  throw new Error('unreachable');
}

function tensors(d: number, layers: number, seedOf: (name: string) => number): TensorSpec[] {
  const out: TensorSpec[] = [];
  const add = (name: string, shape: number[], mean = 0) => out.push({ name, shape, seed: seedOf(name), mean });
  add('embed.weight', [8 * d, d]);
  for (let l = 0; l < layers; l++) {
    const p = `layers.${l}`;
    add(`${p}.attn_norm.weight`, [d], 1);
    for (const m of ['q', 'k', 'v', 'o']) add(`${p}.attn.${m}.weight`, [d, d]);
    add(`${p}.mlp_norm.weight`, [d], 1);
    add(`${p}.mlp.up.weight`, [4 * d, d]);
    add(`${p}.mlp.down.weight`, [d, 4 * d]);
  }
  add('final_norm.weight', [d], 1);
  add('head.weight', [8 * d, d]);
  return out;
}

/** FNV-1a, to turn (model seed, tensor name) into a tensor seed. */
function hashSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h || 1;
}

/**
 * Fills `out` with N(mean, STD) values: xorshift32 uniforms through
 * Box-Muller. Deterministic per seed, so runs are comparable, and about
 * 100 MB/s: generating a 1 GiB family takes about ten seconds.
 */
function fillNormal(out: Float32Array, seed: number, mean: number): void {
  let x = seed >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
  for (let i = 0; i < out.length; i += 2) {
    const u1 = (next() + 1) / 4294967297; // (0, 1): log(0) must not happen
    const u2 = next() / 4294967296;
    const r = STD * Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(2 * Math.PI * u2);
  }
}

function header(specs: TensorSpec[]): Buffer {
  const h: Record<string, unknown> = { __metadata__: { format: 'pt', generator: 'tessera bench --synthetic' } };
  let pos = 0;
  for (const t of specs) {
    const n = t.shape.reduce((a, b) => a * b, 1) * 4;
    h[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [pos, pos + n] };
    pos += n;
  }
  let json = JSON.stringify(h);
  // The safetensors crate pads the header with spaces to a multiple of 8, so tensor data stays aligned.
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const text = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([len, text]);
}

function elements(t: TensorSpec): number {
  return t.shape.reduce((a, b) => a * b, 1);
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/**
 * Writes the models side by side, tensor by tensor (they share one
 * architecture, so tensor i has the same shape in each): a tensor whose seed
 * equals the previous model's is written from the buffer already filled,
 * which saves generating the frozen backbone twice.
 */
function writeModels(paths: string[], models: TensorSpec[][], scratch: Float32Array[]): void {
  const fds = paths.map((p) => openSync(p, 'w'));
  try {
    models.forEach((specs, m) => writeAll(fds[m]!, header(specs)));
    for (let i = 0; i < models[0]!.length; i++) {
      models.forEach((specs, m) => {
        const t = specs[i]!;
        const view = scratch[m]!.subarray(0, elements(t));
        const prev = m > 0 ? models[m - 1]![i]! : undefined;
        if (prev && prev.seed === t.seed && prev.mean === t.mean) view.set(scratch[m - 1]!.subarray(0, view.length));
        else fillNormal(view, t.seed, t.mean);
        writeAll(fds[m]!, Buffer.from(view.buffer, view.byteOffset, view.byteLength));
      });
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** Writes the family into `dir` (which must exist) so that the three files total about `totalBytes`. */
export function generateFamily(dir: string, totalBytes: number): SyntheticFamily {
  const { d, layers } = architecture(totalBytes / 3);
  const base = tensors(d, layers, (n) => hashSeed(1, n));
  // The fine-tune keeps the base's seeds (so its bytes) except where it was trained.
  const retrained = new Set(['head.weight', 'final_norm.weight']);
  const ft = tensors(d, layers, (n) => hashSeed(retrained.has(n) ? 2 : 1, n));
  const unrelated = tensors(d, layers, (n) => hashSeed(3, n));
  const largest = Math.max(...base.map(elements));
  const models = [base, ft, unrelated];
  const paths = ['base', 'ft-head', 'unrelated'].map((n) => join(dir, `${n}.safetensors`));
  writeModels(paths, models, models.map(() => new Float32Array(largest)));
  const bytesOf = (specs: TensorSpec[]) => header(specs).length + specs.reduce((n, t) => n + elements(t) * 4, 0);
  const distinct = bytesOf(base) + bytesOf(unrelated) + header(ft).length
    + ft.filter((t) => retrained.has(t.name)).reduce((n, t) => n + elements(t) * 4, 0);
  const corpus = corpusFromPaths(`synthetic ${binSize(totalBytes)} (3 safetensors files, width ${d}, ${layers} layers)`, dir, paths);
  return { corpus, distinctTensorBytes: distinct, width: d, layers };
}
