import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { corpusFromPaths } from './corpus.js';
import type { Corpus } from './corpus.js';
import { binSize } from './units.js';

/**
 * A generated model family for throughput runs on big files: the shared
 * corpus is small enough that timer noise and per-file costs dominate.
 *
 * Five safetensors files of one transformer-like architecture, F32 weights
 * drawn from N(0, 0.02) (what initialised and lightly trained weights look
 * like byte-wise: random mantissas, a narrow band of exponents):
 *   base       the base model
 *   ft-head    "frozen backbone + new head": every tensor but the head and
 *              the final norm is byte-identical to the base
 *   ft-full    a full fine-tune: every weight of the base nudged by noise of
 *              1e-4 times the tensor's RMS, so sign and exponent bytes stay
 *              mostly equal and the low ~11 mantissa bits differ; no tensor
 *              is byte-identical to the base, and Tessera stores it as XOR or
 *              integer deltas against the base
 *   base-bf16  the base cast to bfloat16 (round to nearest even, as
 *              PyTorch's `.to(torch.bfloat16)`): half the bytes, stored as a
 *              cast-aware delta against the base for almost nothing
 *   unrelated  the same architecture from another seed: nothing shared
 */

type Dtype = 'F32' | 'BF16';

const BYTES_PER_ELEMENT: Record<Dtype, number> = { F32: 4, BF16: 2 };

export interface TensorSpec {
  name: string;
  shape: number[];
  /** Norm weights sit around 1, everything else around 0. */
  mean: number;
}

/** How a model's tensors come about. `from` is the index of an earlier model in the family. */
type Recipe =
  /** N(mean, 0.02) from a seed per (model seed, tensor name); equal seeds give byte-identical tensors. */
  | { kind: 'normal'; seedOf: (name: string) => number }
  /** Model `from`'s weights plus noise of `rel` times the tensor's RMS. */
  | { kind: 'nudged'; from: number; seed: number; rel: number }
  /** Model `from` cast to bfloat16. */
  | { kind: 'bf16'; from: number };

interface ModelSpec {
  name: string;
  dtype: Dtype;
  recipe: Recipe;
}

export interface SyntheticFamily {
  corpus: Corpus;
  /** Raw bytes of tensors that differ between files, plus headers: what perfect tensor dedup would keep. */
  distinctTensorBytes: number;
  /** What those bytes are, for the note under the table. */
  distinctWhat: string;
  width: number;
  layers: number;
}

const STD = 0.02;

/** Relative size of the full fine-tune's changes: 1e-4 of a tensor's RMS. */
const FT_FULL_REL = 1e-4;

/** The family, in import order. */
function family(): ModelSpec[] {
  // The head fine-tune keeps the base's seeds (so its bytes) except where it was trained.
  const retrained = new Set(['head.weight', 'final_norm.weight']);
  return [
    { name: 'base', dtype: 'F32', recipe: { kind: 'normal', seedOf: (n) => hashSeed(1, n) } },
    { name: 'ft-head', dtype: 'F32', recipe: { kind: 'normal', seedOf: (n) => hashSeed(retrained.has(n) ? 2 : 1, n) } },
    { name: 'ft-full', dtype: 'F32', recipe: { kind: 'nudged', from: 0, seed: 4, rel: FT_FULL_REL } },
    { name: 'base-bf16', dtype: 'BF16', recipe: { kind: 'bf16', from: 0 } },
    { name: 'unrelated', dtype: 'F32', recipe: { kind: 'normal', seedOf: (n) => hashSeed(3, n) } },
  ];
}

/** Architecture for a model of about `bytes` of F32: width d, vocabulary 8d, 4 attention d×d and 2 MLP d×4d matrices a layer. */
function architecture(bytes: number): { d: number; layers: number } {
  // The widest model that still has a few layers, so tensors range from a few MiB to tens of MiB at 1 GiB.
  for (const d of [1024, 512, 256, 128]) {
    const fixed = 64 * d * d; // embedding and head, 8d × d F32 each
    const layer = 48 * d * d; // 12 d² F32
    if (bytes >= fixed + 2 * layer || d === 128) return { d, layers: Math.max(1, Math.round((bytes - fixed) / layer)) };
  }
  throw new Error('unreachable');
}

function tensors(d: number, layers: number): TensorSpec[] {
  const out: TensorSpec[] = [];
  const add = (name: string, shape: number[], mean = 0) => out.push({ name, shape, mean });
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
 * Marsaglia's polar method (one log and one sqrt per pair, no trigonometry).
 * Deterministic per seed, so runs are comparable, and a few hundred MB/s.
 */
function fillNormal(out: Float32Array, seed: number, mean: number): void {
  let x = seed >>> 0 || 1;
  const n = out.length;
  let i = 0;
  while (i < n) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const u = (x | 0) / 2147483648; // [-1, 1)
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const v = (x | 0) / 2147483648;
    const s = u * u + v * v;
    if (s >= 1 || s === 0) continue;
    const f = STD * Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = mean + u * f;
    if (i < n) out[i++] = mean + v * f;
  }
}

/**
 * out = src + noise of standard deviation `sigma`. The noise is triangular
 * (the sum of two 16-bit uniforms), scaled to that deviation: its shape does
 * not matter byte-wise, and one xorshift step per weight keeps this near
 * memory speed.
 */
function fillNudged(src: Float32Array, out: Float32Array, seed: number, sigma: number): void {
  let x = seed >>> 0 || 1;
  // (a + b - 65535) / 65536 has variance 1/6.
  const scale = (sigma * Math.sqrt(6)) / 65536;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = src[i]! + ((x & 0xffff) + ((x >>> 16) & 0xffff) - 65535) * scale;
  }
}

/** out = bfloat16 bit patterns of src, round to nearest even (NaN kept quiet); written independently of src/codec. */
function fillBf16(src: Float32Array, out: Uint16Array): void {
  const w = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < out.length; i++) {
    const u = w[i]!;
    out[i] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
  }
}

export function header(specs: TensorSpec[], dtype: Dtype): Buffer {
  const h: Record<string, unknown> = { __metadata__: { format: 'pt', generator: 'tessera bench --synthetic' } };
  let pos = 0;
  for (const t of specs) {
    const n = elements(t) * BYTES_PER_ELEMENT[dtype];
    h[t.name] = { dtype, shape: t.shape, data_offsets: [pos, pos + n] };
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
 * architecture, so tensor i has the same shape in each), each model from a
 * scratch buffer of its own: a tensor whose seed equals an earlier model's is
 * written from the buffer already filled (the frozen backbone is generated
 * once), and the nudged and cast models are derived from their source's
 * buffer. Returns the bytes of distinct tensors plus headers.
 */
function writeModels(paths: string[], models: ModelSpec[], specs: TensorSpec[]): number {
  const largest = Math.max(...specs.map(elements));
  const scratch = models.map((m) => (m.dtype === 'F32' ? new Float32Array(largest) : new Uint16Array(largest)));
  const fds = paths.map((p) => openSync(p, 'w'));
  let distinct = 0;
  try {
    for (const [m, model] of models.entries()) {
      const h = header(specs, model.dtype);
      writeAll(fds[m]!, h);
      distinct += h.length;
    }
    for (const t of specs) {
      const n = elements(t);
      const views: (Float32Array | Uint16Array)[] = [];
      const seeds: (number | undefined)[] = [];
      for (const [m, model] of models.entries()) {
        const r = model.recipe;
        const own = scratch[m]!.subarray(0, n);
        let view: Float32Array | Uint16Array = own;
        if (r.kind === 'normal') {
          const seed = r.seedOf(t.name);
          seeds[m] = seed;
          const same = seeds.findIndex((s, k) => k < m && s === seed);
          if (same >= 0) view = views[same]!;
          else fillNormal(own as Float32Array, seed, t.mean);
        } else if (r.kind === 'nudged') {
          const rms = Math.sqrt(t.mean * t.mean + STD * STD);
          fillNudged(views[r.from] as Float32Array, own as Float32Array, hashSeed(r.seed, t.name), r.rel * rms);
        } else {
          fillBf16(views[r.from] as Float32Array, own as Uint16Array);
        }
        views[m] = view;
        if (view === own) distinct += view.byteLength;
        writeAll(fds[m]!, Buffer.from(view.buffer, view.byteOffset, view.byteLength));
      }
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return distinct;
}

/** Writes the family into `dir` (which must exist) so that the files total about `totalBytes`. */
export function generateFamily(dir: string, totalBytes: number): SyntheticFamily {
  const models = family();
  // Bytes of the whole family per byte of one F32 model (4.5 for four F32 models and one BF16).
  const perF32 = models.reduce((s, m) => s + BYTES_PER_ELEMENT[m.dtype] / 4, 0);
  const { d, layers } = architecture(totalBytes / perF32);
  const specs = tensors(d, layers);
  const paths = models.map((m) => join(dir, `${m.name}.safetensors`));
  const distinct = writeModels(paths, models, specs);
  const corpus = corpusFromPaths(
    `synthetic ${binSize(totalBytes)} (${models.length} safetensors files: ${models.map((m) => m.name).join(', ')}; width ${d}, ${layers} layers)`,
    dir, paths);
  return {
    corpus, distinctTensorBytes: distinct, width: d, layers,
    distinctWhat: 'every tensor of every model but the frozen backbone of ft-head',
  };
}

/** One F32 model of about `bytes` (the family's base): the single-file throughput run. */
export function generateSingle(dir: string, bytes: number): Corpus {
  const model = family()[0]!;
  const { d, layers } = architecture(bytes);
  const path = join(dir, `${model.name}.safetensors`);
  writeModels([path], [model], tensors(d, layers));
  return corpusFromPaths(`synthetic single file, ${binSize(bytes)} (width ${d}, ${layers} layers)`, dir, [path]);
}

/**
 * Small fine-tunes of one architecture, for the --scale run: the base's
 * weights (seed 1, as the family's base) nudged per model by noise of
 * FT_FULL_REL times each tensor's RMS with the model's own seed. Every model
 * has the same tensor names, shapes and dtype (F32), so every stored one is a
 * candidate base for the next; none shares a byte-identical tensor with
 * another. Width 8 and 4 layers make a 16 KB file, written in microseconds.
 */
export class FineTunes {
  readonly specs: TensorSpec[];
  private readonly base: Float32Array[];
  private readonly scratch: Float32Array;
  readonly bytes: number;

  constructor(readonly width: number, readonly layers: number) {
    this.specs = tensors(width, layers);
    this.base = this.specs.map((t) => {
      const a = new Float32Array(elements(t));
      fillNormal(a, hashSeed(1, t.name), t.mean);
      return a;
    });
    this.scratch = new Float32Array(Math.max(...this.specs.map(elements)));
    this.bytes = header(this.specs, 'F32').length + this.base.reduce((n, a) => n + a.byteLength, 0);
  }

  /** Writes fine-tune number `seed` (0: the base itself) to `path`. */
  write(path: string, seed: number): void {
    const fd = openSync(path, 'w');
    try {
      writeAll(fd, header(this.specs, 'F32'));
      for (const [i, t] of this.specs.entries()) {
        const src = this.base[i]!;
        let out = src;
        if (seed !== 0) {
          out = this.scratch.subarray(0, src.length);
          fillNudged(src, out, hashSeed(1000 + seed, t.name), FT_FULL_REL * Math.sqrt(t.mean * t.mean + STD * STD));
        }
        writeAll(fd, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
      }
    } finally {
      closeSync(fd);
    }
  }
}
