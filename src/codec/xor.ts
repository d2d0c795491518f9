/**
 * XOR delta ("BitX" in ZipLLM): residual = raw XOR base over the overlap of the
 * two, raw bytes beyond it. A fine-tuned weight shares sign, exponent and the
 * top mantissa bits with its base, so the residual's high bytes are mostly zero.
 * XOR is its own inverse, so the same function decodes.
 */

/**
 * dst[i] = a[i] ^ b[i] for i < n, 32 bits at a time when all three are 4-byte
 * aligned (the codec passes aligned scratch copies). Returns whether any result
 * byte is nonzero, so callers can spot an exact prediction for free.
 */
export function xorInto(dst: Uint8Array, a: Uint8Array, b: Uint8Array, n: number): boolean {
  let acc = 0;
  let i = 0;
  if (((dst.byteOffset | a.byteOffset | b.byteOffset) & 3) === 0) {
    const words = n >>> 2;
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset, words);
    const a32 = new Uint32Array(a.buffer, a.byteOffset, words);
    const b32 = new Uint32Array(b.buffer, b.byteOffset, words);
    for (let j = 0; j < words; j++) {
      const v = a32[j]! ^ b32[j]!;
      d32[j] = v;
      acc |= v;
    }
    i = words << 2;
  }
  for (; i < n; i++) {
    const v = a[i]! ^ b[i]!;
    dst[i] = v;
    acc |= v;
  }
  return acc !== 0;
}

/**
 * Writes the residual of `raw` against `base` into `dst` (raw.length bytes):
 * XOR over min(raw.length, base.length), then the rest of raw unchanged.
 * Returns whether the residual has any nonzero byte.
 */
export function xorResidual(dst: Uint8Array, raw: Uint8Array, base: Uint8Array): boolean {
  const m = Math.min(raw.length, base.length);
  let nz = xorInto(dst, raw, base, m);
  if (m < raw.length) {
    const rest = raw.subarray(m);
    dst.set(rest, m);
    if (!nz) nz = rest.some((x) => x !== 0);
  }
  return nz;
}
