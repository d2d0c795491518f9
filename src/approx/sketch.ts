/**
 * SimHash sketches of float32 blocks and a banded LSH index over them
 * (approx.md, "Sketch"): near-identical blocks (small relative L2 error,
 * hence high cosine similarity) get sketches that agree on most bits, so
 * they share at least one 8-bit band with high probability, while unrelated
 * blocks rarely do. Candidates from the index are only candidates: the
 * caller confirms each with the exact relative error.
 */

import { halfToNumber } from '../serve/oip/fp16.js';

/** Bits per sketch, as two 32-bit words. */
export const SKETCH_BITS = 64;
/** The sketch is cut into this many bands of SKETCH_BITS / BANDS bits; blocks sharing any band are candidates. */
export const BANDS = 8;
const BAND_BITS = SKETCH_BITS / BANDS;
/** Values each bit's projection samples (with ±1 signs): 64 × 256 = 16,384, one 64 KiB block's worth. */
export const SAMPLES_PER_BIT = 256;
/** Seed of the projections; part of the format of a sketch (approx.md). */
export const SKETCH_SEED = 0x7e55e7a;

export type Sketch = readonly [number, number];

/**
 * The scheme a block's sketch is kept under in the store (chunk_sketches.scheme),
 * by the dtype its bytes were read as: a change to the constants above is a new
 * set of schemes.
 */
export const SKETCH_SCHEMES: Readonly<Record<BlockDtype, number>> = { F32: 1, F16: 2, BF16: 3 };

/** Tensor dtypes whose blocks are sketched and compared (as float32 values). */
export type BlockDtype = 'F32' | 'F16' | 'BF16';

/** IEEE half-precision bit patterns → float32 values, built on first use (256 KiB). */
let halfTable: Float32Array | undefined;

/** A block's values as float32: little-endian F32, F16 or BF16 bytes (F32 copied only when unaligned). */
export function valuesOf(bytes: Uint8Array, dtype: BlockDtype): Float32Array {
  if (dtype === 'F32') return floats(bytes);
  const n = bytes.byteLength >>> 1;
  const out = new Float32Array(n);
  if (dtype === 'BF16') {
    // bfloat16 is the high half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16;
    return out;
  }
  const table = (halfTable ??= Float32Array.from({ length: 65536 }, (_, h) => halfToNumber(h)));
  for (let i = 0; i < n; i++) out[i] = table[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
  return out;
}

/** A sketch as kept: 8 bytes, the two words little-endian; no bytes for a block without a sketch. */
export function encodeSketch(s: Sketch | undefined): Buffer {
  if (!s) return Buffer.alloc(0);
  const b = Buffer.alloc(8);
  b.writeUInt32LE(s[0], 0);
  b.writeUInt32LE(s[1], 4);
  return b;
}

export function decodeSketch(b: Uint8Array): Sketch | undefined {
  if (b.length !== 8) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, 8);
  return [v.getUint32(0, true), v.getUint32(4, true)];
}

/** mulberry32: a small seeded PRNG (32-bit state), enough to pick positions and signs reproducibly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

interface Projections {
  /** Position sampled by each (bit, sample), bit-major. */
  positions: Uint32Array;
  /** Its sign: bit 31 of the same random word. */
  negative: Uint8Array;
}

const plans = new Map<number, Projections>();

/** The projections for blocks of `n` values: the same for every block of that length, so their sketches compare. */
function projections(n: number): Projections {
  let p = plans.get(n);
  if (!p) {
    const next = mulberry32((SKETCH_SEED ^ n) >>> 0);
    const total = SKETCH_BITS * SAMPLES_PER_BIT;
    p = { positions: new Uint32Array(total), negative: new Uint8Array(total) };
    for (let i = 0; i < total; i++) {
      const r = next();
      p.positions[i] = (r & 0x7fffffff) % n;
      p.negative[i] = r >>> 31;
    }
    plans.set(n, p);
  }
  return p;
}

/**
 * The sketch of a block of float32 values (little-endian bytes), or
 * undefined when the block holds a NaN or an infinity (never replaced) or
 * is all zeros (nothing is near it but itself).
 */
export function sketch(block: Float32Array): Sketch | undefined {
  const n = block.length;
  if (n === 0) return undefined;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const v = block[i]!;
    if (!Number.isFinite(v)) return undefined;
    energy += v * v;
  }
  if (energy === 0) return undefined;
  const { positions, negative } = projections(n);
  const words = [0, 0];
  for (let bit = 0; bit < SKETCH_BITS; bit++) {
    let sum = 0;
    const base = bit * SAMPLES_PER_BIT;
    for (let s = base; s < base + SAMPLES_PER_BIT; s++) {
      const v = block[positions[s]!]!;
      sum += negative[s] ? -v : v;
    }
    if (sum > 0) words[bit >>> 5]! |= 1 << (bit & 31);
  }
  return [words[0]! >>> 0, words[1]! >>> 0];
}

/** The value of band `b` (0..BANDS-1) of a sketch. */
export function band(s: Sketch, b: number): number {
  const bit = b * BAND_BITS;
  return (s[bit >>> 5]! >>> (bit & 31)) & ((1 << BAND_BITS) - 1);
}

/** Bits in which two sketches differ. */
export function hamming(a: Sketch, b: Sketch): number {
  let d = 0;
  for (let w = 0; w < 2; w++) {
    let x = (a[w]! ^ b[w]!) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}

/**
 * Blocks by band value, per group (dtype and length): candidates for a block
 * are the indexed blocks of its group that share a band with it, the ones
 * sharing the most bands (the closest sketches) first.
 */
export class LshIndex<T> {
  private readonly buckets = new Map<string, number[]>();
  private readonly items: { item: T; sketch: Sketch }[] = [];

  get size(): number {
    return this.items.length;
  }

  /** `group`: what a candidate must share with the block besides a band (its dtype and length). */
  add(group: string, s: Sketch, item: T): void {
    const i = this.items.push({ item, sketch: s }) - 1;
    for (let b = 0; b < BANDS; b++) {
      const key = `${group}:${b}:${band(s, b)}`;
      const bucket = this.buckets.get(key);
      if (bucket) bucket.push(i);
      else this.buckets.set(key, [i]);
    }
  }

  /** Up to `limit` candidates of `group` for a block with sketch `s`, closest sketch first. */
  candidates(group: string, s: Sketch, limit: number): T[] {
    const hits = new Set<number>();
    for (let b = 0; b < BANDS; b++) {
      for (const i of this.buckets.get(`${group}:${b}:${band(s, b)}`) ?? []) hits.add(i);
    }
    return [...hits]
      .map((i) => ({ i, d: hamming(s, this.items[i]!.sketch) }))
      .sort((x, y) => x.d - y.d || x.i - y.i)
      .slice(0, limit)
      .map(({ i }) => this.items[i]!.item);
  }
}

/** Squared L2 distance and the block's own squared norm, for the relative-error check. */
export function distance(a: Float32Array, b: Float32Array): { err2: number; norm2: number } {
  let err2 = 0;
  let norm2 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const d = x - b[i]!;
    err2 += d * d;
    norm2 += x * x;
  }
  return { err2, norm2 };
}

/** A float32 view of little-endian bytes (copied when the buffer's offset is not 4-aligned). */
export function floats(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  // A copy (Buffer's slice() is a view: Uint8Array's own copies).
  return new Float32Array(Uint8Array.prototype.slice.call(bytes, 0, bytes.byteLength & ~3).buffer);
}
