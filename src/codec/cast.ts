/**
 * float32 -> float16 / bfloat16 casts with round-to-nearest-even, bit-exact
 * with PyTorch `.to(torch.float16)` / `.to(torch.bfloat16)` on finite values and
 * infinities (so a half-precision model that really is the cast of a stored F32
 * model predicts to an all-zero residual):
 *
 *   F16:  |x| >= 65520 (the tie above the largest finite 65504) -> ±Inf;
 *         results below 2^-14 are correctly rounded subnormals; |x| <= 2^-25
 *         -> ±0 (2^-25 is the tie between 0 and the smallest subnormal);
 *         sign of zero kept.
 *   BF16: (w + 0x7fff + lsb) >> 16, which also rounds values above the largest
 *         finite bf16 up to ±Inf exactly as PyTorch does.
 *   NaN:  quiet NaN, sign and top payload bits kept (F16: sign|0x7e00|mant>>13,
 *         BF16: w>>16|0x0040), as the hardware conversions (x86 F16C/AVX-512
 *         BF16, Arm FCVT) and PyTorch's vectorised CPU kernels do for the
 *         default NaN. PyTorch's scalar paths canonicalise NaN (0x7e00|sign,
 *         0x7fc0); for the default NaN 0x7fc00000 all agree. A NaN that
 *         disagrees costs a few residual bits, never correctness.
 */

export type HalfDtype = 'F16' | 'BF16';

/** f32 bit pattern (as uint32 or int32) -> f16 bit pattern. */
export function f32ToF16Bits(w: number): number {
  // Fast path, small enough for V8 to inline into the loops: |x| in the normal
  // f16 range. Rebias the exponent (127 -> 15) in place, then round the 13
  // dropped bits to nearest even; a carry out of the mantissa correctly bumps
  // the exponent.
  const a = w & 0x7fffffff;
  if (a >= 0x38800000 && a < 0x477ff000) {
    const m = a - 0x38000000;
    return ((w >>> 16) & 0x8000) | ((m + 0xfff + ((m >>> 13) & 1)) >>> 13);
  }
  return f32ToF16Rare(w);
}

/** Overflow, Inf, NaN, subnormal and zero results. */
function f32ToF16Rare(w: number): number {
  const sign = (w >>> 16) & 0x8000;
  const a = w & 0x7fffffff;
  if (a >= 0x7f800000) return a === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00 | ((a >>> 13) & 0x3ff);
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a <= 0x33000000) return sign;
  // Subnormal f16: value = significand * 2^(e-150); in units of 2^-24 that is
  // significand >> (126 - e), rounded to nearest even. A round-up to 0x400
  // yields the smallest normal, whose bit pattern is the same number.
  const e = a >>> 23;
  const shift = 126 - e; // 14..24
  const sig = (a & 0x7fffff) | 0x800000;
  const q = sig >>> shift;
  const rem = sig & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return sign | (rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q);
}

/** f32 bit pattern (as uint32 or int32) -> bf16 bit pattern. */
export function f32ToBF16Bits(w: number): number {
  if ((w & 0x7fffffff) > 0x7f800000) return (w >>> 16) | 0x0040;
  return (w + 0x7fff + ((w >>> 16) & 1)) >>> 16;
}

/**
 * dst (2n bytes) = cast of the first n float32 of src (4n bytes). Both aligned
 * (scratch.ts).
 *
 * Loops read Int32 (a Uint32Array yields values above 2^31 for every negative
 * float, which drops V8 out of its int32 fast path; the casts give the same
 * bits either way) and write two half floats per 32-bit word: ~1.5x faster
 * than a Uint16Array loop. Separate loops per target keep each call site
 * monomorphic so the cast is inlined.
 */
export function castHalfInto(target: HalfDtype, src: Uint8Array, dst: Uint8Array, n: number): void {
  const s = new Int32Array(src.buffer, src.byteOffset, n);
  const pairs = n >>> 1;
  const d = new Int32Array(dst.buffer, dst.byteOffset, pairs);
  if (target === 'BF16') {
    for (let j = 0, i = 0; j < pairs; j++, i += 2) d[j] = f32ToBF16Bits(s[i]!) | (f32ToBF16Bits(s[i + 1]!) << 16);
  } else {
    for (let j = 0, i = 0; j < pairs; j++, i += 2) d[j] = f32ToF16Bits(s[i]!) | (f32ToF16Bits(s[i + 1]!) << 16);
  }
  if (n & 1) {
    const h = target === 'BF16' ? f32ToBF16Bits(s[n - 1]!) : f32ToF16Bits(s[n - 1]!);
    dst[2 * n - 2] = h;
    dst[2 * n - 1] = h >>> 8;
  }
}

/** dst (2n bytes) ^= cast of the first n float32 of src: decoding a cast residual in place. */
export function xorCastInPlace(target: HalfDtype, dst: Uint8Array, src: Uint8Array, n: number): void {
  const s = new Int32Array(src.buffer, src.byteOffset, n);
  const pairs = n >>> 1;
  const d = new Int32Array(dst.buffer, dst.byteOffset, pairs);
  if (target === 'BF16') {
    for (let j = 0, i = 0; j < pairs; j++, i += 2) d[j] ^= f32ToBF16Bits(s[i]!) | (f32ToBF16Bits(s[i + 1]!) << 16);
  } else {
    for (let j = 0, i = 0; j < pairs; j++, i += 2) d[j] ^= f32ToF16Bits(s[i]!) | (f32ToF16Bits(s[i + 1]!) << 16);
  }
  if (n & 1) {
    const h = target === 'BF16' ? f32ToBF16Bits(s[n - 1]!) : f32ToF16Bits(s[n - 1]!);
    dst[2 * n - 2] ^= h;
    dst[2 * n - 1] ^= h >>> 8;
  }
}
