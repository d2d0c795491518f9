/**
 * The PERMUTE codec (0x50): a chunk of a tensor that is another stored
 * tensor's values with its axes permuted (a transposed dense kernel, a
 * convolution kernel in OHWI order stored before in HWIO…). The payload says
 * how; the chunk's bases are the source tensor's chunks, in order, whose
 * concatenation is the source tensor. See codecs.md ("PERMUTE").
 *
 *   u8  version (1)        u8 element bytes (1, 2, 4, 8)
 *   u8  rank r (2..8)      u8 reserved (0)
 *   u32 × r  source dims, outermost first
 *   u8  × r  perm: target axis i is source axis perm[i] (numpy.transpose(source, perm))
 *   u64      start: the target element (row-major) the chunk begins with
 *
 * The chunk is target elements [start, start + rawSize / element bytes).
 * The identity order over dims [1, n] makes a chunk a slice of its source:
 * how a piece of a TF.js weight cut by a shard boundary is kept as part of
 * the whole grid cell (slice-finder.ts).
 */
import { CodecError } from './errors.js';

export const PERMUTE_VERSION = 1;
export const MAX_PERMUTE_RANK = 8;

export interface Permutation {
  elementBytes: number;
  /** Source tensor dims, outermost first. */
  dims: number[];
  /** Target axis i is source axis perm[i]. */
  perm: number[];
}

/** Target dims of a permutation: dims[perm[i]]. */
export function permutedDims(p: Permutation): number[] {
  return p.perm.map((a) => p.dims[a]!);
}

function check(p: Permutation): void {
  const r = p.dims.length;
  if (![1, 2, 4, 8].includes(p.elementBytes)) throw new CodecError(`PERMUTE: element size ${p.elementBytes}`);
  if (r < 2 || r > MAX_PERMUTE_RANK || p.perm.length !== r) throw new CodecError(`PERMUTE: rank ${r}`);
  if (new Set(p.perm).size !== r || p.perm.some((a) => !Number.isInteger(a) || a < 0 || a >= r)) throw new CodecError(`PERMUTE: [${p.perm.join(',')}] is not a permutation`);
  if (p.dims.some((d) => !Number.isInteger(d) || d < 1 || d > 0xffffffff)) throw new CodecError(`PERMUTE: dims [${p.dims.join(',')}]`);
}

export function encodePermutePayload(p: Permutation, start: number): Buffer {
  check(p);
  const r = p.dims.length;
  const b = Buffer.alloc(4 + 5 * r + 8);
  b[0] = PERMUTE_VERSION;
  b[1] = p.elementBytes;
  b[2] = r;
  p.dims.forEach((d, i) => b.writeUInt32LE(d, 4 + 4 * i));
  p.perm.forEach((a, i) => (b[4 + 4 * r + i] = a));
  b.writeBigUInt64LE(BigInt(start), 4 + 5 * r);
  return b;
}

export function decodePermutePayload(payload: Uint8Array): { p: Permutation; start: number } {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  if (b.length < 4 || b[0] !== PERMUTE_VERSION) throw new CodecError('PERMUTE: bad payload header');
  const r = b[2]!;
  if (b.length !== 4 + 5 * r + 8) throw new CodecError(`PERMUTE: payload is ${b.length} bytes, rank ${r} needs ${4 + 5 * r + 8}`);
  const dims = Array.from({ length: r }, (_, i) => b.readUInt32LE(4 + 4 * i));
  const perm = Array.from({ length: r }, (_, i) => b[4 + 4 * r + i]!);
  const start = b.readBigUInt64LE(4 + 5 * r);
  if (start > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError('PERMUTE: start out of range');
  const p = { elementBytes: b[1]!, dims, perm };
  check(p);
  return { p, start: Number(start) };
}

/**
 * Writes target elements [start, start + out.length / elementBytes) of
 * transpose(source, perm) into `out`. `source` holds the source tensor
 * (at least its elements; longer is fine).
 */
export function permuteInto(out: Uint8Array, source: Uint8Array, p: Permutation, start: number): void {
  check(p);
  const w = p.elementBytes;
  const r = p.dims.length;
  if (out.length % w !== 0) throw new CodecError(`PERMUTE: chunk of ${out.length} bytes is not whole ${w}-byte elements`);
  const n = out.length / w;
  let total = 1;
  for (const d of p.dims) total *= d;
  if (!Number.isSafeInteger(total) || source.length < total * w) throw new CodecError(`PERMUTE: source has ${source.length} bytes, the tensor needs ${total * w}`);
  if (!Number.isSafeInteger(start) || start < 0 || start + n > total) throw new CodecError(`PERMUTE: elements ${start}..${start + n} outside a tensor of ${total}`);
  if (n === 0) return;
  // Source strides (elements), read in target axis order.
  const srcStride = new Array<number>(r);
  let s = 1;
  for (let a = r - 1; a >= 0; a--) {
    srcStride[a] = s;
    s *= p.dims[a]!;
  }
  const tDims = p.perm.map((a) => p.dims[a]!);
  const step = p.perm.map((a) => srcStride[a]!);
  // The target multi-index of `start`, and its source offset.
  const idx = new Array<number>(r);
  let rest = start;
  let off = 0;
  for (let i = r - 1; i >= 0; i--) {
    idx[i] = rest % tDims[i]!;
    rest = Math.floor(rest / tDims[i]!);
    off += idx[i]! * step[i]!;
  }
  const last = r - 1;
  const lastDim = tDims[last]!;
  const lastStep = step[last]!;
  const copy = elementCopier(out, source, w);
  for (let k = 0; k < n; ) {
    // A run along the innermost target axis: a constant source stride.
    const run = Math.min(lastDim - idx[last]!, n - k);
    copy(k, off, run, lastStep);
    k += run;
    off += run * lastStep;
    idx[last] = idx[last]! + run;
    // Carry into the outer axes.
    for (let i = last; i > 0 && idx[i]! === tDims[i]!; i--) {
      off -= tDims[i]! * step[i]!;
      idx[i] = 0;
      idx[i - 1] = idx[i - 1]! + 1;
      off += step[i - 1]!;
    }
  }
}

/** Copies `run` elements to out[k…] from source elements off, off + stride, …: typed arrays when aligned, bytes otherwise. */
function elementCopier(out: Uint8Array, source: Uint8Array, w: number): (k: number, off: number, run: number, stride: number) => void {
  const copy = elementLoop(out, source, w);
  // A run of consecutive source elements (the identity order: a slice) is one block copy.
  return (k, off, run, stride) => {
    if (stride === 1) out.set(source.subarray(off * w, (off + run) * w), k * w);
    else copy(k, off, run, stride);
  };
}

function elementLoop(out: Uint8Array, source: Uint8Array, w: number): (k: number, off: number, run: number, stride: number) => void {
  const aligned = (a: Uint8Array): boolean => a.byteOffset % w === 0;
  if ((w === 4 || w === 2) && aligned(out) && aligned(source)) {
    const view = (a: Uint8Array): Uint32Array | Uint16Array => (w === 4 ? new Uint32Array(a.buffer, a.byteOffset, a.length >>> 2) : new Uint16Array(a.buffer, a.byteOffset, a.length >>> 1));
    const o = view(out);
    const src = view(source);
    return (k, off, run, stride) => {
      for (let j = 0; j < run; j++) o[k + j] = src[off + j * stride]!;
    };
  }
  return (k, off, run, stride) => {
    for (let j = 0; j < run; j++) {
      const from = (off + j * stride) * w;
      out.set(source.subarray(from, from + w), (k + j) * w);
    }
  };
}
